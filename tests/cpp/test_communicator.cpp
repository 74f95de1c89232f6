// Data-parallel training from C++ with a Communicator whose "ranks" are
// threads of this process (shared memory and a barrier): the fixed-order
// sum gives every rank the same bits, P ranks with batch b train like one
// process with batch P·b, ranks built with different seeds end equal, and
// a stop on one rank stops them all; each rank draws its own dropout
// masks while the shuffle stays shared.
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "check.hpp"
#include "entrena/entrena.hpp"

using namespace entrena;

namespace {

// P threads exchanging blocks through shared slots.
struct Shared {
  explicit Shared(int p) : P(p), slots(static_cast<std::size_t>(p)) {}
  int P;
  std::vector<std::vector<unsigned char>> slots;
  std::mutex m;
  std::condition_variable cv;
  int arrived = 0;
  long generation = 0;
  void barrier() {
    std::unique_lock<std::mutex> lock(m);
    const long gen = generation;
    if (++arrived == P) {
      arrived = 0;
      ++generation;
      cv.notify_all();
    } else {
      cv.wait(lock, [&] { return generation != gen; });
    }
  }
};

class ThreadRank final : public Communicator {
 public:
  ThreadRank(Shared& s, int rank) : s_(s), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return s_.P; }
  void all_to_all(const void* send, void* recv, std::size_t bytes) override {
    publish(send, bytes * static_cast<std::size_t>(s_.P));
    for (int q = 0; q < s_.P; ++q)
      std::memcpy(static_cast<unsigned char*>(recv) + q * bytes, s_.slots[q].data() + rank_ * bytes, bytes);
    s_.barrier();
  }
  void all_gather(const void* send, void* recv, std::size_t bytes) override {
    publish(send, bytes);
    for (int q = 0; q < s_.P; ++q) std::memcpy(static_cast<unsigned char*>(recv) + q * bytes, s_.slots[q].data(), bytes);
    s_.barrier();
  }
  void broadcast(void* buf, std::size_t bytes, int root) override {
    if (bytes == 0) return;   // (every rank sees the same size)
    if (rank_ == root) s_.slots[root].assign(static_cast<unsigned char*>(buf), static_cast<unsigned char*>(buf) + bytes);
    s_.barrier();
    if (rank_ != root) std::memcpy(buf, s_.slots[root].data(), bytes);
    s_.barrier();
  }

 private:
  void publish(const void* send, std::size_t bytes) {
    s_.barrier();   // the previous collective's readers are done
    s_.slots[rank_].assign(static_cast<const unsigned char*>(send), static_cast<const unsigned char*>(send) + bytes);
    s_.barrier();
  }
  Shared& s_;
  int rank_;
};

template <class F>
void on_ranks(int P, F f) {
  Shared shared(P);
  std::vector<std::thread> threads;
  for (int r = 0; r < P; ++r) threads.emplace_back([&, r] {
    ThreadRank comm(shared, r);
    f(comm);
  });
  for (auto& t : threads) t.join();
}

void data(std::vector<double>& X, std::vector<double>& y, index_t n) {
  Rng rng(5);
  X.resize(static_cast<std::size_t>(n * 4));
  y.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    double s = 0;
    for (int j = 0; j < 4; ++j) s += (X[i * 4 + j] = rng.normal()) * (j + 1);
    y[i] = s > 0 ? 1.0 : 0.0;
  }
}

std::vector<double> train(Communicator* comm, std::uint64_t seed, index_t batch, index_t epochs,
                          const std::vector<double>& X, const std::vector<double>& y, History* h = nullptr,
                          EpochCallback on_epoch = {}) {
  Sequential<double> m(seed);
  m.add(Dense<double>(8, "tanh"));
  m.add(Dense<double>(2));
  m.build({4});
  CategoricalCrossentropy<double> loss;
  SGD<double> opt(0.1, 0.9);
  FitOptions<double> o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.communicator = comm;
  o.on_epoch = std::move(on_epoch);
  History hist = fit(m, loss, opt, X.data(), y.data(), static_cast<index_t>(y.size()), 1, o);
  if (h) *h = hist;
  return std::vector<double>(m.params(), m.params() + m.num_params());
}

// A pass-through layer that records the random numbers its training
// forward passes draw (as Dropout draws its masks).
class Draws final : public Layer<double> {
 public:
  explicit Draws(std::vector<std::uint64_t>& seen) : seen_(seen) {}
  std::string kind() const override { return "Draws"; }
  Shape build(const Shape& input_shape) override { return this->in_shape_ = this->out_shape_ = input_shape; }
  void forward(const double* x, double* y, index_t n, bool training, Rng& rng) override {
    std::memcpy(y, x, static_cast<std::size_t>(n * 4) * sizeof(double));
    if (training) seen_.push_back(rng.next_u64());
  }
  void backward(const double*, const double*, const double* dy, double* dx, index_t n) override {
    if (dx) std::memcpy(dx, dy, static_cast<std::size_t>(n * 4) * sizeof(double));
  }

 private:
  std::vector<std::uint64_t>& seen_;
};

// Draws (recording into `seen`) before a Dense(2), on 4 features.
std::unique_ptr<Sequential<double>> recording(std::vector<std::uint64_t>& seen) {
  auto m = std::make_unique<Sequential<double>>(3);
  m->add(std::make_unique<Draws>(seen));
  m->add(Dense<double>(2));
  m->build({4});
  return m;
}

}  // namespace

TEST(each_rank_draws_its_own_masks_and_the_shuffle_stays_shared) {
  std::vector<double> X, y;
  data(X, y, 64);
  std::vector<std::vector<std::uint64_t>> seen(2), unshuffled(2);
  std::vector<std::string> after(2);
  std::vector<std::vector<double>> w(2);
  on_ranks(2, [&](Communicator& c) {
    const int r = c.rank();
    auto m = recording(seen[static_cast<std::size_t>(r)]);
    CategoricalCrossentropy<double> loss;
    SGD<double> opt(0.1);
    FitOptions<double> o;
    o.epochs = 3;
    o.batch_size = 8;
    o.communicator = &c;
    fit(*m, loss, opt, X.data(), y.data(), 64, 1, o);
    after[static_cast<std::size_t>(r)] = m->rng().state_string();
    w[static_cast<std::size_t>(r)].assign(m->params(), m->params() + m->num_params());
    auto still = recording(unshuffled[static_cast<std::size_t>(r)]);
    o.shuffle = false;
    fit(*still, loss, opt, X.data(), y.data(), 64, 1, o);
  });
  // Without shuffling too, each epoch draws anew.
  CHECK_EQ(unshuffled[0].size(), std::size_t(12));
  CHECK(unshuffled[0][0] != unshuffled[0][4] && unshuffled[0][4] != unshuffled[0][8]);
  CHECK(unshuffled[0][0] != unshuffled[1][0]);
  CHECK_EQ(seen[0].size(), std::size_t(12));            // 4 batches of 8 per rank, 3 epochs
  CHECK_EQ(seen[1].size(), seen[0].size());
  std::size_t same = 0;
  for (std::size_t k = 0; k < seen[0].size(); ++k) same += seen[0][k] == seen[1][k];
  CHECK_EQ(same, std::size_t(0));                       // different draws at every batch
  CHECK(after[0] == after[1]);                          // the shared generator agrees
  CHECK(w[0] == w[1]);
  // One process draws from the model's generator itself, as before.
  std::vector<std::uint64_t> alone;
  auto m = recording(alone);
  Rng twin = m->rng();
  CategoricalCrossentropy<double> loss;
  SGD<double> opt(0.1);
  FitOptions<double> o;
  o.epochs = 1;
  o.batch_size = 8;
  fit(*m, loss, opt, X.data(), y.data(), 64, 1, o);
  std::vector<index_t> order(64);
  twin.shuffle(order.data(), 64);
  CHECK_EQ(alone.size(), std::size_t(8));
  CHECK_EQ(alone[0], twin.next_u64());
}

// A metric that keeps no mergeable state (as a user's own may not).
class Last final : public Metric<double> {
 public:
  std::string name() const override { return "last"; }
  bool higher_is_better() const override { return false; }
  void reset() override { v_ = 0; }
  void update(const double* out, const double*, index_t, index_t, index_t, const Loss<double>&) override {
    v_ = out[0];
  }
  double result() const override { return v_; }
  std::unique_ptr<Metric<double>> fresh() const override { return std::make_unique<Last>(); }

 private:
  double v_ = 0;
};

TEST(metrics_merged_from_parts_equal_the_metric_over_all_rows) {
  // Outputs of 3 columns for 40 rows in uneven parts; class targets and
  // one-hot targets (for the value metrics).
  Rng rng(11);
  const index_t n = 40, w = 3;
  std::vector<double> out(static_cast<std::size_t>(n * w)), cls(static_cast<std::size_t>(n)),
      onehot(static_cast<std::size_t>(n * w), 0.0);
  for (auto& v : out) v = rng.normal();
  for (index_t r = 0; r < n; ++r) {
    cls[r] = static_cast<double>(r % 3 == 0 ? 0 : static_cast<index_t>(rng.uniform() * 3) % 3);
    onehot[static_cast<std::size_t>(r * w) + static_cast<std::size_t>(cls[r])] = 1.0;
  }
  CategoricalCrossentropy<double> ce;
  MeanSquaredError<double> mse;
  const index_t cuts[] = {0, 7, 8, 25, 40};     // parts of 7, 1, 17 and 15 rows; then an empty one
  std::vector<std::string> names = metric_names().names();
  names.push_back("top_2_accuracy");
  for (const std::string& name : names) {
    const bool value = name == "mse" || name == "mae" || name == "r2" || name == "binary_accuracy";
    const double* t = value ? onehot.data() : cls.data();
    const index_t tw = value ? w : 1;
    const Loss<double>& loss = value ? static_cast<const Loss<double>&>(mse) : ce;
    auto whole = make_metric<double>(name);
    whole->update(out.data(), t, n, w, tw, loss);
    auto merged = make_metric<double>(name);
    CHECK(merged->mergeable());
    for (int k = 0; k < 4; ++k) {
      auto part = make_metric<double>(name);
      part->update(out.data() + cuts[k] * w, t + cuts[k] * tw, cuts[k + 1] - cuts[k], w, tw, loss);
      const std::vector<double> st = part->state();
      merged->merge(st.data(), st.size());
    }
    const std::vector<double> nothing = make_metric<double>(name)->state();
    merged->merge(nothing.data(), nothing.size());   // a rank without rows adds nothing
    CHECK(std::fabs(merged->result() - whole->result()) <= 1e-12 * std::max(1.0, std::fabs(whole->result())));
  }
  // A Python-style function metric: batch values weighted by rows.
  FunctionMetric<double> f("f", [](const double* o, const double*, index_t rows, index_t, index_t) {
    return o[0] + static_cast<double>(rows); }, false);
  FunctionMetric<double> g = f;
  f.update(out.data(), cls.data(), 5, w, 1, ce);
  g.reset();
  const std::vector<double> st = f.state();
  g.merge(st.data(), st.size());
  CHECK_EQ(g.result(), f.result());
  // States of another shape are refused.
  auto acc = make_metric<double>("accuracy");
  const double three[3] = {1, 2, 3};
  CHECK_THROWS(ValueError, acc->merge(three, 3), "cannot merge");
}

TEST(a_monitor_on_a_metric_that_cannot_merge_is_refused_on_every_rank) {
  std::vector<double> X, y;
  data(X, y, 40);
  std::vector<int> refused(2, 0);
  on_ranks(2, [&](Communicator& c) {
    Sequential<double> m(1);
    m.add(Dense<double>(2));
    m.build({4});
    CategoricalCrossentropy<double> loss;
    SGD<double> opt(0.1);
    FitOptions<double> o;
    o.communicator = &c;
    o.metrics.emplace_back("last", std::make_shared<Last>());
    o.early_stopping = {EarlyStopping("last", 1)};
    try {
      fit(m, loss, opt, X.data(), y.data(), 40, 1, o);
    } catch (const ValueError& e) {
      refused[static_cast<std::size_t>(c.rank())] = std::string(e.what()).find("cannot merge") != std::string::npos;
    }
    // Reported without a monitor: each rank's own value, and training runs.
    o.early_stopping.clear();
    History h = fit(m, loss, opt, X.data(), y.data(), 40, 1, o);
    CHECK_EQ(h.epochs(), 1);
  });
  CHECK(refused[0] && refused[1]);
}

TEST(allreduce_adds_in_rank_order_on_every_rank) {
  for (index_t n : {1, 5, 7, 1000}) {
    std::vector<std::vector<float>> got(3);
    on_ranks(3, [&](Communicator& c) {
      std::vector<float> v(static_cast<std::size_t>(n));
      for (index_t i = 0; i < n; ++i) v[i] = c.rank() == 0 ? 1e8f : (c.rank() == 1 ? 1.0f + i : -1e8f);
      c.allreduce_sum(v.data(), n);
      got[c.rank()] = v;
    });
    for (index_t i = 0; i < n; ++i) {
      const float want = (1e8f + (1.0f + i)) + -1e8f;      // rank order, in float
      CHECK_EQ(got[0][i], want);
      CHECK_EQ(got[1][i], want);
      CHECK_EQ(got[2][i], want);
    }
  }
}

TEST(two_ranks_with_batch_b_train_like_one_process_with_batch_2b) {
  std::vector<double> X, y;
  data(X, y, 200);
  std::vector<std::vector<double>> w(2);
  on_ranks(2, [&](Communicator& c) { w[c.rank()] = train(&c, 10 + c.rank(), 10, 3, X, y); });
  CHECK(w[0] == w[1]);                                  // rank 0's start, the same bits after
  SingleProcess one;
  const std::vector<double> single = train(&one, 10, 20, 3, X, y);
  double worst = 0;
  for (std::size_t k = 0; k < single.size(); ++k) worst = std::max(worst, std::fabs(single[k] - w[0][k]));
  CHECK(worst < 1e-12);
  const std::vector<double> small = train(nullptr, 10, 10, 3, X, y);
  double diff = 0;
  for (std::size_t k = 0; k < small.size(); ++k) diff = std::max(diff, std::fabs(small[k] - w[0][k]));
  CHECK(diff > 1e-3);                                   // the gradients really were averaged
}

TEST(a_stop_on_one_rank_stops_every_rank) {
  std::vector<double> X, y;
  data(X, y, 90);
  std::vector<index_t> epochs(2);
  on_ranks(2, [&](Communicator& c) {
    History h;
    const int r = c.rank();
    train(&c, 1, 16, 8, X, y, &h, [r](const EpochLogs& logs) { return !(r == 1 && logs.epoch == 2); });
    epochs[r] = h.epochs();
  });
  CHECK_EQ(epochs[0], 3);
  CHECK_EQ(epochs[1], 3);
}

ENTRENA_TEST_MAIN
