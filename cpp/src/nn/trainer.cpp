#include "entrena/nn/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>

namespace entrena {

namespace {
// Copies rows idx[0..b) of src (rows of `width` elements) into dst.
template <class T>
void gather_rows(const T* src, const index_t* idx, index_t b, index_t width, T* dst) {
  for (index_t r = 0; r < b; ++r)
    std::memcpy(dst + r * width, src + idx[r] * width, static_cast<std::size_t>(width) * sizeof(T));
}

void check_batch(index_t n, index_t batch_size) {
  if (n < 1) throw ValueError(cat("X: expected at least one sample, got n = ", n));
  if (batch_size < 1) throw ValueError(cat("batch_size: expected an integer >= 1, got ", batch_size));
}

// The loss's view of a model's outputs: rows per sample and widths.
struct Layout {
  index_t out_size, width, positions, target_width;
};

template <class T>
Layout layout(Sequential<T>& model, Loss<T>& loss, index_t target_size) {
  Layout l;
  const Shape& out = model.output_shape();
  l.out_size = shape_size(out);
  l.width = out.empty() ? 1 : out.back();
  l.positions = l.out_size / l.width;
  l.target_width = target_width_for(out, target_size);
  loss.check_target(l.width, l.target_width);
  return l;
}
// The rows of a batch's outputs that the loss and the metrics see: all of
// them, or, when the model's output has a mask over steps, the rows of the
// real steps, gathered (so every loss averages over real steps only, and
// padded steps get a zero gradient).
template <class T>
struct LossRows {
  const T* out = nullptr;  // (rows, width)
  const T* y = nullptr;    // (rows, target_width)
  const T* w = nullptr;    // (rows,) weights, or null
  index_t rows = 0;
  bool masked = false;
  std::vector<index_t> idx;
  AlignedBuffer<T> out_buf, y_buf, w_buf, grad_buf;

  // o: the batch's outputs, t: its targets, wt: its row weights (b·positions) or null.
  void select(const Sequential<T>& model, const T* o, const T* t, const T* wt, index_t b, const Layout& lay) {
    const std::uint8_t* mask = model.output_mask();
    masked = mask != nullptr;
    if (!masked) {
      out = o;
      y = t;
      w = wt;
      rows = b * lay.positions;
      return;
    }
    // Row r (of b·positions) is step r / per of the mask (n, steps).
    const index_t per = lay.positions / model.output_mask_steps();
    // Room for every row at once: how many are real varies from batch to
    // batch, and a steady state must not allocate.
    idx.reserve(static_cast<std::size_t>(b * lay.positions));
    idx.clear();
    for (index_t r = 0; r < b * lay.positions; ++r)
      if (mask[r / per]) idx.push_back(r);
    rows = static_cast<index_t>(idx.size());
    out_buf.reserve_at_least(b * lay.positions * lay.width);
    y_buf.reserve_at_least(b * lay.positions * lay.target_width);
    grad_buf.reserve_at_least(b * lay.positions * lay.width);
    if (wt) {
      w_buf.reserve_at_least(b * lay.positions);
      for (index_t k = 0; k < rows; ++k) w_buf.data()[k] = wt[idx[k]];
    }
    w = wt ? w_buf.data() : nullptr;
    for (index_t k = 0; k < rows; ++k) {
      std::memcpy(out_buf.data() + k * lay.width, o + idx[k] * lay.width, sizeof(T) * static_cast<std::size_t>(lay.width));
      std::memcpy(y_buf.data() + k * lay.target_width, t + idx[k] * lay.target_width,
                  sizeof(T) * static_cast<std::size_t>(lay.target_width));
    }
    out = out_buf.data();
    y = y_buf.data();
  }

  // The loss over the selected rows (0 when every step is padding).
  T forward(Loss<T>& loss, const Layout& lay) const {
    return rows > 0 ? loss.forward(out, y, rows, lay.width, lay.target_width, w) : T(0);
  }

  // What the batch's mean loss averaged over, to weigh it in the epoch's
  // mean: its samples, its real steps when the output is masked, or the sum
  // of its row weights.
  double mean_weight(index_t b) const {
    if (w) {
      double s = 0.0;
      for (index_t k = 0; k < rows; ++k) s += static_cast<double>(w[k]);
      return s;
    }
    return static_cast<double>(masked ? rows : b);
  }

  // dL/d(outputs) into grad (b·positions rows), zero at padded steps.
  void backward(Loss<T>& loss, T* grad, index_t b, const Layout& lay) {
    if (!masked) {
      loss.backward(out, y, grad, rows, lay.width, lay.target_width, w);
      return;
    }
    std::memset(grad, 0, sizeof(T) * static_cast<std::size_t>(b * lay.positions * lay.width));
    if (rows == 0) return;
    loss.backward(out, y, grad_buf.data(), rows, lay.width, lay.target_width, w);
    for (index_t k = 0; k < rows; ++k)
      std::memcpy(grad + idx[k] * lay.width, grad_buf.data() + k * lay.width, sizeof(T) * static_cast<std::size_t>(lay.width));
  }

  void update(const std::vector<std::pair<std::string, Metric<T>*>>& metrics, Loss<T>& loss, const Layout& lay) const {
    if (rows > 0)
      for (const auto& m : metrics) m.second->update(out, y, rows, lay.width, lay.target_width, loss);
  }
};

// Sample weights: weight_size values per sample, 1 (a weight per sample)
// or one per output position (e.g. per step of (n, T, C) outputs); finite
// and >= 0.
template <class T>
void check_sample_weight(const T* sw, index_t n, index_t weight_size, const Layout& lay, const char* name) {
  if (!sw) return;
  if (weight_size != 1 && weight_size != lay.positions)
    throw ValueError(cat(name, ": expected one weight per sample or one per output position (", lay.positions,
                         "), got ", weight_size, " per sample"));
  for (index_t k = 0; k < n * weight_size; ++k)
    if (!(sw[k] >= T(0) && std::isfinite(static_cast<double>(sw[k]))))
      throw ValueError(cat(name, ": expected finite weights >= 0, got ", sw[k], " at sample ", k / weight_size));
}

// The row weights of a batch (b·positions values) into dst: the samples
// idx[0..b) (or start..start+b when idx is null) of sw, each weight spread
// over its sample's positions when there is one per sample.
template <class T>
void batch_row_weights(const T* sw, const index_t* idx, index_t start, index_t b, index_t weight_size,
                       index_t positions, T* dst) {
  for (index_t r = 0; r < b; ++r) {
    const T* src = sw + (idx ? idx[r] : start + r) * weight_size;
    T* d = dst + r * positions;
    if (weight_size == positions)
      std::memcpy(d, src, static_cast<std::size_t>(positions) * sizeof(T));
    else
      std::fill(d, d + positions, src[0]);
  }
}

// With a communicator of P ranks: the order padded to a multiple of P by
// wrapping around, then this rank's positions r, r + P, ...; returns how
// many samples the rank trains on (n without a communicator).
index_t shard(std::vector<index_t>& order, index_t n, Communicator* comm) {
  if (!comm) return n;
  const index_t P = comm->size(), r = comm->rank();
  const index_t local = (n + P - 1) / P;
  std::vector<index_t> mine(static_cast<std::size_t>(local));
  for (index_t k = 0; k < local; ++k) mine[static_cast<std::size_t>(k)] = order[static_cast<std::size_t>((k * P + r) % n)];
  order.swap(mine);
  return local;
}

// While it lives, a rank of data-parallel training draws its dropout masks,
// noise and augmentations from a generator of its own, seeded from the
// shared generator's next number (the same on every rank) and the rank.
// The shared generator, which shuffles, comes back afterwards, equal on
// every rank: advanced by that one number if the epoch drew (every rank
// draws alike, so the next epoch draws anew even without shuffling), as
// it was if nothing drew (so a model that draws nothing trains on P ranks
// as on one process). Without a communicator nothing changes.
class RankStream {
 public:
  RankStream(Rng& rng, Communicator* comm) : rng_(rng), shared_(rng) {
    if (!comm) return;
    active_ = true;
    const std::uint64_t base = Rng(shared_).next_u64();
    rng_.seed_with(base ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(comm->rank() + 1)));
    start_ = rng_;
  }
  ~RankStream() {
    if (!active_) return;
    const bool drew = Rng(rng_).next_u64() != Rng(start_).next_u64();
    rng_ = shared_;
    if (drew) rng_.next_u64();
  }
  RankStream(const RankStream&) = delete;
  RankStream& operator=(const RankStream&) = delete;

 private:
  Rng& rng_;
  Rng shared_, start_;
  bool active_ = false;
};

// The epoch's training metrics over every rank's samples: the ranks'
// states (Metric::state) gathered and merged in rank order, the same bits
// on every rank. A metric that cannot merge keeps the rank's own value.
template <class T>
void merge_metrics(const EpochOptions<T>& o, Communicator& comm) {
  const std::size_t P = static_cast<std::size_t>(comm.size());
  for (const auto& named : o.metrics) {
    Metric<T>& m = *named.second;
    if (!m.mergeable()) continue;
    const std::vector<double> mine = m.state();
    const std::uint64_t size = mine.size();
    std::vector<std::uint64_t> sizes(P);
    comm.all_gather(&size, sizes.data(), sizeof size);
    const std::size_t most = static_cast<std::size_t>(*std::max_element(sizes.begin(), sizes.end()));
    if (most == 0) continue;
    std::vector<double> block(most, 0.0), all(P * most);
    std::copy(mine.begin(), mine.end(), block.begin());
    comm.all_gather(block.data(), all.data(), most * sizeof(double));
    m.reset();
    for (std::size_t r = 0; r < P; ++r) m.merge(all.data() + r * most, static_cast<std::size_t>(sizes[r]));
  }
}

// Σ_ranks share_r · g_r, the same bits on every rank.
template <class T>
void combine_gradients(Sequential<T>& model, Communicator& comm, T share) {
  T* g = model.grads();
  const index_t n = model.num_params();
  if (share != T(1))
    for (index_t k = 0; k < n; ++k) g[k] *= share;
  comm.allreduce_sum(g, n);
}

}  // namespace

index_t target_width_for(const Shape& output_shape, index_t target_size) {
  const index_t out_size = shape_size(output_shape);
  const index_t width = output_shape.empty() ? 1 : output_shape.back();
  const index_t positions = out_size / width;
  if (target_size == out_size) return width;
  if (target_size == positions) return 1;
  const Shape per_position(output_shape.begin(), output_shape.empty() ? output_shape.end() : output_shape.end() - 1);
  throw ValueError(cat("y: expected targets of shape ", batch_shape_str(output_shape), " (the output's) or ",
                       batch_shape_str(per_position), " (one per position), got ", target_size,
                       " values per sample"));
}

template <class T>
EpochStats train_epoch(Sequential<T>& model, Loss<T>& loss, Optimizer<T>& opt, const T* X, const T* Y,
                       index_t n, index_t target_size, const EpochOptions<T>& o) {
  auto guard = model.lock();
  check_batch(n, o.batch_size);
  const index_t in_w = shape_size(model.input_shape());
  const Layout lay = layout(model, loss, target_size);
  model.check_input(X, n);
  loss.check_target_values(Y, n * lay.positions, lay.width, lay.target_width);
  check_sample_weight(o.sample_weight, n, o.sample_weight_size, lay, "sample_weight");
  for (const auto& m : o.metrics) {
    m.second->check(lay.width, lay.target_width, loss);
    m.second->reset();
  }

  std::vector<index_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), index_t(0));
  if (o.shuffle) model.rng().shuffle(order.data(), n);
  Communicator* comm = o.communicator && o.communicator->size() > 1 ? o.communicator : nullptr;
  const index_t local_n = shard(order, n, comm);
  const RankStream own_draws(model.rng(), comm);

  const index_t full = local_n / o.batch_size;
  const index_t batches = o.drop_last ? full : (local_n + o.batch_size - 1) / o.batch_size;
  if (batches == 0)
    throw ValueError(cat("batch_size: ", o.batch_size, " is larger than the ", local_n,
                         comm ? " samples of this rank" : " samples", " and drop_last is set: the epoch would have no batch"));

  const index_t bmax = std::min(o.batch_size, local_n);
  AlignedBuffer<T> xb(checked_mul(bmax, in_w, "a batch of inputs")),
      yb(checked_mul(bmax, target_size, "a batch of targets")), grad(checked_mul(bmax, lay.out_size, "a batch of outputs")),
      wb(o.sample_weight ? checked_mul(bmax, lay.positions, "a batch of weights") : 0);
  EpochStats st;
  st.batches = batches;
  double loss_sum = 0.0, weight_sum = 0.0;
  const bool sum_reduced = loss.reduction() == Reduction::Sum;
  RunningLogs running;
  LossRows<T> sel;
  // Summed over the ranks each batch: non-finite loss, interrupt, stop asked,
  // the non-finite value, the weight of the rank's mean loss.
  double flags[5] = {0, 0, 0, 0, 0};
  bool stop_asked = false, interrupted_here = false;
  for (index_t bi = 0; bi < batches; ++bi) {
    if (o.interrupted && o.interrupted()) {
      if (!comm) {
        st.interrupted = true;
        break;
      }
      interrupted_here = true;   // agreed with the other ranks after the forward pass
    }
    const index_t start = bi * o.batch_size;
    const index_t b = std::min(o.batch_size, local_n - start);
    const index_t* idx = order.data() + start;
    gather_rows(X, idx, b, in_w, xb.data());
    gather_rows(Y, idx, b, target_size, yb.data());
    if (o.sample_weight)
      batch_row_weights(o.sample_weight, idx, 0, b, o.sample_weight_size, lay.positions, wb.data());

    const T* out = model.forward(xb.data(), b, true);
    sel.select(model, out, yb.data(), o.sample_weight ? wb.data() : nullptr, b, lay);
    const T l = sel.forward(loss, lay);
    // What this rank's mean loss averaged over: its samples, its real steps,
    // or the sum of its sample weights.
    const double weight = sel.mean_weight(b);
    if (comm) {
      // Every rank stops at the same batch: a non-finite loss anywhere, or a
      // stop asked for on any rank (its interrupt, or its progress callback).
      flags[0] = std::isfinite(static_cast<double>(l)) ? 0.0 : 1.0;
      flags[1] = interrupted_here ? 1.0 : 0.0;
      flags[2] = stop_asked ? 1.0 : 0.0;
      flags[3] = flags[0] > 0 ? static_cast<double>(l) : 0.0;
      flags[4] = weight;
      comm->allreduce_sum(flags, 5);
      if (flags[0] == 0 && (flags[1] > 0 || flags[2] > 0)) {
        st.interrupted = flags[1] > 0;
        break;
      }
    }
    if (!std::isfinite(static_cast<double>(l)) || (comm && flags[0] > 0)) {
      st.nonfinite_batch = bi;
      st.nonfinite_loss = std::isfinite(static_cast<double>(l)) ? flags[3] : static_cast<double>(l);
      break;
    }
    sel.update(o.metrics, loss, lay);
    sel.backward(loss, grad.data(), b, lay);
    model.zero_grad();
    model.backward(grad.data());
    if (comm) {
      // The gradient of the loss over every rank's rows: each rank's mean
      // weighs by what it averaged over (samples, real steps or sample
      // weights); a "sum" loss adds up.
      const double total = flags[4];
      const double share = sum_reduced ? 1.0 : total > 0 ? weight / total : 0.0;
      combine_gradients(model, *comm, static_cast<T>(share));
    }
    opt.step(model.params(), model.grads(), model.num_params(), model.param_segments());

    // A mean loss weighs each batch by what it averaged over (so the
    // epoch's value is the mean over every real step, or the weighted mean).
    loss_sum += sum_reduced ? static_cast<double>(l) : static_cast<double>(l) * weight;
    weight_sum += weight;
    st.samples += b;
    st.iterations += 1;
    st.loss = sum_reduced ? loss_sum : weight_sum > 0 ? loss_sum / weight_sum : 0.0;
    if (o.progress && o.every > 0 && ((bi + 1) % o.every == 0 || bi + 1 == batches)) {
      running.clear();
      running.emplace_back("loss", st.loss);
      for (const auto& m : o.metrics) running.emplace_back(m.first, m.second->result());
      if (!o.progress(bi + 1, batches, running)) {
        if (!comm) break;
        stop_asked = true;     // agreed at the next batch, before its update
      }
    }
  }
  if (comm) {
    // The epoch's loss over every rank's samples.
    double totals[2] = {loss_sum, weight_sum};
    comm->allreduce_sum(totals, 2);
    st.loss = sum_reduced ? totals[0] : totals[1] > 0 ? totals[0] / totals[1] : 0.0;
    merge_metrics(o, *comm);
  }
  return st;
}

template <class T>
EpochStats train_epoch(Sequential<T>& model, Loss<T>& loss, Optimizer<T>& opt, const T* X, const T* Y,
                       index_t n, index_t target_size, index_t batch_size, bool shuffle, bool drop_last) {
  EpochOptions<T> o;
  o.batch_size = batch_size;
  o.shuffle = shuffle;
  o.drop_last = drop_last;
  return train_epoch<T>(model, loss, opt, X, Y, n, target_size, o);
}

template <class T>
double evaluate(Sequential<T>& model, Loss<T>& loss, const T* X, const T* Y, index_t n, index_t target_size,
                index_t batch_size, T* pred, const std::vector<Metric<T>*>& metrics, const T* sample_weight,
                index_t sample_weight_size) {
  auto guard = model.lock();
  check_batch(n, batch_size);
  const index_t in_w = shape_size(model.input_shape());
  const Layout lay = layout(model, loss, target_size);
  model.check_input(X, n);
  loss.check_target_values(Y, n * lay.positions, lay.width, lay.target_width);
  check_sample_weight(sample_weight, n, sample_weight_size, lay, "sample_weight");
  AlignedBuffer<T> wb(sample_weight ? checked_mul(std::min(batch_size, n), lay.positions, "a batch of weights") : 0);
  std::vector<std::pair<std::string, Metric<T>*>> named;
  for (Metric<T>* m : metrics) named.emplace_back(std::string(), m);
  LossRows<T> sel;
  for (Metric<T>* m : metrics) {
    m->check(lay.width, lay.target_width, loss);
    m->reset();
  }
  const bool sum_reduced = loss.reduction() == Reduction::Sum;
  double total = 0.0, weight_total = 0.0;
  for (index_t start = 0; start < n; start += batch_size) {
    const index_t b = std::min(batch_size, n - start);
    const T* out = model.forward(X + start * in_w, b, false);
    const T* yb = Y + start * target_size;
    if (sample_weight)
      batch_row_weights(sample_weight, nullptr, start, b, sample_weight_size, lay.positions, wb.data());
    sel.select(model, out, yb, sample_weight ? wb.data() : nullptr, b, lay);
    const double l = static_cast<double>(sel.forward(loss, lay));
    const double weight = sel.mean_weight(b);
    total += sum_reduced ? l : l * weight;
    weight_total += weight;
    sel.update(named, loss, lay);
    if (pred) std::memcpy(pred + start * lay.out_size, out, static_cast<std::size_t>(b * lay.out_size) * sizeof(T));
  }
  return sum_reduced ? total : weight_total > 0 ? total / weight_total : 0.0;
}

template <class T>
void predict(Sequential<T>& model, const T* X, index_t n, T* out, index_t batch_size) {
  auto guard = model.lock();
  check_batch(n, batch_size);
  const index_t in_w = shape_size(model.input_shape());
  const index_t out_w = shape_size(model.output_shape());
  model.check_input(X, n);
  for (index_t start = 0; start < n; start += batch_size) {
    const index_t b = std::min(batch_size, n - start);
    const T* y = model.forward(X + start * in_w, b, false);
    std::memcpy(out + start * out_w, y, static_cast<std::size_t>(b * out_w) * sizeof(T));
  }
}

#define ENTRENA_INSTANTIATE(T)                                                                          \
  template EpochStats train_epoch<T>(Sequential<T>&, Loss<T>&, Optimizer<T>&, const T*, const T*, index_t, \
                                     index_t, const EpochOptions<T>&);                                  \
  template EpochStats train_epoch<T>(Sequential<T>&, Loss<T>&, Optimizer<T>&, const T*, const T*, index_t, \
                                     index_t, index_t, bool, bool);                                     \
  template double evaluate<T>(Sequential<T>&, Loss<T>&, const T*, const T*, index_t, index_t, index_t, T*, \
                              const std::vector<Metric<T>*>&, const T*, index_t);                                          \
  template void predict<T>(Sequential<T>&, const T*, index_t, T*, index_t);
ENTRENA_INSTANTIATE(float)
ENTRENA_INSTANTIATE(double)
#undef ENTRENA_INSTANTIATE

}  // namespace entrena
