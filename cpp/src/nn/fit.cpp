#include "entrena/nn/fit.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "entrena/nn/options.hpp"

namespace entrena {

// ------------------------------------------------------------ logs, history
double EpochLogs::get(const std::string& key) const {
  for (const auto& kv : values)
    if (kv.first == key) return kv.second;
  return std::numeric_limits<double>::quiet_NaN();
}

bool EpochLogs::has(const std::string& key) const {
  for (const auto& kv : values)
    if (kv.first == key) return true;
  return false;
}

void EpochLogs::set(const std::string& key, double value) {
  for (auto& kv : values)
    if (kv.first == key) {
      kv.second = value;
      return;
    }
  values.emplace_back(key, value);
}

const std::vector<double>& History::operator[](const std::string& key) const {
  auto it = values.find(key);
  if (it == values.end()) throw ValueError(cat("History: no key '", key, "'; logged: ", join_names(keys)));
  return it->second;
}

index_t History::total_iterations() const {
  auto it = values.find("iterations");
  double t = 0;
  if (it != values.end())
    for (double i : it->second) t += i;
  return static_cast<index_t>(t);
}

void History::record(const EpochLogs& logs) {
  // Every key has one value per epoch: NaN where an epoch did not log it.
  const std::size_t before = epoch.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  epoch.push_back(logs.epoch);
  for (const auto& [k, v] : logs.values) {
    if (!values.count(k)) {
      keys.push_back(k);
      values[k].assign(before, nan);
    }
    values[k].push_back(v);
  }
  for (auto& [k, v] : values)
    if (v.size() == before) v.push_back(nan);
}

namespace {

// The keys every epoch logs (besides lr, seconds, iterations).
template <class T>
std::vector<std::string> logged_keys(const FitOptions<T>& o, bool has_val) {
  std::vector<std::string> keys{"loss"};
  for (const auto& m : o.metrics) keys.push_back(m.name);
  if (has_val) {
    keys.push_back("val_loss");
    for (const auto& m : o.metrics) keys.push_back("val_" + m.name);
  }
  return keys;
}

// Checks that `monitor` will be logged; says what is when it is not.
template <class T>
void check_monitor(const char* who, const std::string& monitor, const FitOptions<T>& o, bool has_val) {
  const auto keys = logged_keys(o, has_val);
  if (std::find(keys.begin(), keys.end(), monitor) != keys.end()) return;
  if (monitor.rfind("val_", 0) == 0 && !has_val) {
    const auto with_val = logged_keys(o, true);
    if (std::find(with_val.begin(), with_val.end(), monitor) != with_val.end())
      throw ValueError(cat(who, ": monitor '", monitor, "' needs validation data"));
  }
  throw ValueError(cat(who, ": monitor '", monitor, "' is not logged; expected one of ", join_names(keys)));
}

// Whether larger values of a logged key are better.
template <class T>
bool higher_is_better(const std::string& monitor, const FitOptions<T>& o) {
  const std::string base = monitor.rfind("val_", 0) == 0 ? monitor.substr(4) : monitor;
  for (const auto& m : o.metrics)
    if (m.name == base) return m.metric->higher_is_better();
  return false;  // losses
}

// One early-stopping rule's state during fit.
template <class T>
struct Stopper {
  const EarlyStopping* rule;
  bool maximize;
  double min_delta;
  EarlyStoppingResult result;
  std::vector<T> best_params, best_buffers;
  bool has_weights = false;

  bool improved(double v, double reference) const {
    if (std::isnan(reference)) return true;
    return maximize ? v - min_delta > reference : v + min_delta < reference;
  }
  void snapshot(Sequential<T>& m) {
    best_params.assign(m.params(), m.params() + m.num_params());
    best_buffers.assign(m.buffers(), m.buffers() + m.num_buffer_elements());
    has_weights = true;
  }
  // Keras 3's EarlyStopping.on_epoch_end; true: stop training.
  bool end_of_epoch(index_t epoch, const EpochLogs& logs, Sequential<T>& m) {
    if (epoch < rule->start_from_epoch) return false;
    const double v = logs.get(rule->monitor);
    if (std::isnan(v)) return false;
    if (rule->restore_best_weights && !has_weights) {
      snapshot(m);
      result.best_epoch = epoch;
    }
    ++result.wait;
    if (improved(v, result.best)) {
      result.best = v;
      result.best_epoch = epoch;
      if (rule->restore_best_weights) snapshot(m);
      if (!rule->baseline || improved(v, *rule->baseline)) result.wait = 0;
      return false;
    }
    if (result.wait >= rule->patience && epoch > 0) {
      result.stopped_epoch = epoch;
      return true;
    }
    return false;
  }
  void restore(Sequential<T>& m) {
    if (!rule->restore_best_weights || !has_weights) return;
    std::memcpy(m.params(), best_params.data(), best_params.size() * sizeof(T));
    if (!best_buffers.empty()) std::memcpy(m.buffers(), best_buffers.data(), best_buffers.size() * sizeof(T));
    result.restored_best_weights = true;
  }
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

template <class T>
History fit(Sequential<T>& model, Loss<T>& loss, Optimizer<T>& optimizer, const T* X, const T* Y,
            index_t n, index_t target_size, const FitOptions<T>& o) {
  auto guard = model.lock();
  if (!model.built())
    throw StateError("fit: the model is not built yet (call model.build(input_shape) first)");
  if (!X || !Y) throw ValueError("fit: X and Y must not be null");
  if (n < 1) throw ValueError(cat("fit: n must be >= 1, got ", n));
  if (target_size < 1) throw ValueError(cat("fit: target_size must be >= 1, got ", target_size));
  check_integer("epochs", o.epochs, 0);
  check_integer("batch_size", o.batch_size, 1);
  check_integer("initial_epoch", o.initial_epoch, 0);
  check_integer("eval_batch_size", o.eval_batch_size, 1);
  if (o.drop_last && o.batch_size > n)
    throw ValueError(cat("batch_size: ", o.batch_size, " is larger than the ", n,
                         " training samples and drop_last is set: no batch would remain"));
  const index_t tw = target_width_for(model.output_shape(), target_size);
  const index_t width = model.output_shape().empty() ? 1 : model.output_shape().back();
  loss.check_target(width, tw);
  for (const auto& m : o.metrics) {
    if (!m.metric) throw ValueError(cat("metrics: '", m.name, "' has no metric"));
    if (m.name.empty() || m.name == "loss" || m.name.rfind("val_", 0) == 0)
      throw ValueError(cat("metrics: a metric may not be named '", m.name, "'"));
    m.metric->check(width, tw, loss);
  }

  const bool has_val = o.validation.X != nullptr;
  if (has_val) {
    if (!o.validation.Y) throw ValueError("fit: validation.Y must not be null when validation.X is given");
    if (o.validation.n < 1) throw ValueError(cat("fit: validation.n must be >= 1, got ", o.validation.n));
  }
  std::vector<Stopper<T>> stoppers;
  for (const EarlyStopping& es : o.early_stopping) {
    check_monitor("EarlyStopping", es.monitor, o, has_val);
    check_integer("patience", es.patience, 0);
    check_integer("start_from_epoch", es.start_from_epoch, 0);
    check_number("min_delta", es.min_delta);
    if (es.baseline) check_number("baseline", *es.baseline);
    const std::string mode = es.mode;
    if (mode != "auto" && mode != "min" && mode != "max")
      throw ValueError(cat("mode: expected one of 'auto', 'min', 'max'; got '", mode, "'"));
    const bool maximize = mode == "max" || (mode == "auto" && higher_is_better(es.monitor, o));
    stoppers.push_back(Stopper<T>{&es, maximize, std::fabs(es.min_delta), {}, {}, {}, false});
  }
  const std::string sched_monitor =
      o.schedule_monitor.empty() ? (has_val ? "val_loss" : "loss") : o.schedule_monitor;
  if (o.schedule && o.schedule->uses_metric()) check_monitor("schedule", sched_monitor, o, has_val);

  Communicator* comm = o.communicator && o.communicator->size() > 1 ? o.communicator : nullptr;
  if (comm) {
    // Training metrics are merged over the ranks (Metric::state); one that
    // cannot merge has a value per rank, which could not be agreed on.
    auto own_value = [&](const std::string& name) {
      for (const auto& m : o.metrics)
        if (m.name == name) return !m.metric->mergeable();
      return false;
    };
    for (const EarlyStopping& es : o.early_stopping)
      if (own_value(es.monitor))
        throw ValueError(cat("EarlyStopping: monitor '", es.monitor, "' is a training metric that each rank "
                             "computes on its own shard (it cannot merge its state); in data-parallel training "
                             "monitor 'loss', a 'val_' key or a built-in metric"));
    if (o.schedule && o.schedule->uses_metric() && own_value(sched_monitor))
      throw ValueError(cat("schedule: monitor '", sched_monitor, "' is a training metric that each rank computes "
                           "on its own shard (it cannot merge its state); in data-parallel training monitor "
                           "'loss', a 'val_' key or a built-in metric"));
  }
  if (o.seed) model.seed(*o.seed);
  if (comm) {
    // Every rank starts from rank 0's model: parameters, buffers and generator.
    static_assert(std::is_trivially_copyable_v<Rng>, "the generator is sent as bytes");
    if (model.num_params() > 0)
      comm->broadcast(model.params(), static_cast<std::size_t>(model.num_params()) * sizeof(T), 0);
    if (model.num_buffer_elements() > 0)
      comm->broadcast(model.buffers(), static_cast<std::size_t>(model.num_buffer_elements()) * sizeof(T), 0);
    comm->broadcast(&model.rng(), sizeof(Rng), 0);
  }
  if (o.schedule && !o.schedule->started()) o.schedule->reset(optimizer.lr());

  // Training metrics, and their twins for the validation pass.
  EpochOptions<T> eo;
  eo.batch_size = o.batch_size;
  eo.shuffle = o.shuffle;
  eo.drop_last = o.drop_last;
  eo.progress = o.progress;
  eo.every = o.progress_every;
  eo.interrupted = o.interrupted;
  eo.communicator = comm;
  eo.sample_weight = o.sample_weight;
  eo.sample_weight_size = o.sample_weight_size;
  std::vector<std::unique_ptr<Metric<T>>> val_metrics;
  std::vector<Metric<T>*> val_ptrs;
  for (const auto& m : o.metrics) {
    eo.metrics.emplace_back(m.name, m.metric.get());
    val_metrics.push_back(m.metric->fresh());
    val_ptrs.push_back(val_metrics.back().get());
  }

  History h;
  double prev_metric = std::numeric_limits<double>::quiet_NaN();
  for (index_t e = o.initial_epoch; e < o.initial_epoch + o.epochs; ++e) {
    if (o.on_epoch_begin) o.on_epoch_begin(e);
    if (o.schedule) {
      const double lr = o.schedule->lr_at(e, o.schedule->uses_metric()
                                                 ? prev_metric
                                                 : std::numeric_limits<double>::quiet_NaN());
      optimizer.set_lr(lr);
    }
    EpochLogs logs;
    logs.epoch = e;
    const double lr = optimizer.lr();
    const auto t0 = std::chrono::steady_clock::now();
    const EpochStats st = train_epoch<T>(model, loss, optimizer, X, Y, n, target_size, eo);
    if (st.interrupted) {
      h.stop_reason = "interrupted";
      h.interrupted_epoch = e;
      h.interrupted_batch = st.iterations;
      h.interrupted_batches = st.batches;
      break;
    }
    if (st.nonfinite_batch >= 0) {
      logs.set("loss", st.nonfinite_loss);
      logs.set("lr", lr);
      logs.set("seconds", seconds_since(t0));
      logs.set("iterations", static_cast<double>(st.iterations));
      if (!o.terminate_on_nonfinite)
        throw NonFiniteLossError(cat("fit: the loss became ", st.nonfinite_loss, " at epoch ", e + 1, ", batch ",
                                     st.nonfinite_batch + 1, " of ", st.batches, "; the parameters keep their values from before that "
                                     "batch. Lower the learning rate or check the data (TerminateOnNaN / "
                                     "FitOptions::terminate_on_nonfinite stops without this error)"));
      h.record(logs);
      h.stop_reason = "nonfinite_loss";
      if (o.on_epoch) o.on_epoch(logs);
      break;
    }
    if (comm && model.num_buffer_elements() > 0) {
      // Buffers that training updates (BatchNormalization's running
      // statistics) saw each rank's own batches: their mean over the ranks,
      // so that validation and the saved model are the same everywhere.
      T* buf = model.buffers();
      const index_t nb = model.num_buffer_elements();
      comm->allreduce_sum(buf, nb);
      const T inv = T(1) / static_cast<T>(comm->size());
      for (index_t k = 0; k < nb; ++k) buf[k] *= inv;
    }
    logs.set("loss", st.loss);
    for (const auto& m : o.metrics) logs.set(m.name, m.metric->result());
    if (has_val) {
      logs.set("val_loss", evaluate<T>(model, loss, o.validation.X, o.validation.Y, o.validation.n, target_size,
                                       o.eval_batch_size, nullptr, val_ptrs, o.validation.sample_weight,
                                       o.sample_weight_size));
      for (std::size_t i = 0; i < o.metrics.size(); ++i) logs.set("val_" + o.metrics[i].name, val_ptrs[i]->result());
    }
    logs.set("lr", lr);
    logs.set("seconds", seconds_since(t0));
    logs.set("iterations", static_cast<double>(st.iterations));
    h.record(logs);
    prev_metric = logs.get(sched_monitor);

    bool stop = false;
    for (Stopper<T>& s : stoppers)
      if (s.end_of_epoch(e, logs, model)) {
        stop = true;
        if (h.stop_reason.empty()) h.stop_reason = "early_stopping";
      }
    if (o.on_epoch && !o.on_epoch(logs)) {
      stop = true;
      if (h.stop_reason.empty()) h.stop_reason = "callback";
    }
    if (comm) {
      // A stop on any rank (a callback of its own) stops them all.
      double any = stop ? 1.0 : 0.0;
      comm->allreduce_sum(&any, 1);
      if (any > 0 && !stop) {
        stop = true;
        h.stop_reason = "callback";
      }
    }
    if (stop) break;
  }

  for (Stopper<T>& s : stoppers) {
    s.restore(model);
    h.early_stopping.push_back(s.result);
  }
  return h;
}

template History fit<float>(Sequential<float>&, Loss<float>&, Optimizer<float>&, const float*, const float*,
                            index_t, index_t, const FitOptions<float>&);
template History fit<double>(Sequential<double>&, Loss<double>&, Optimizer<double>&, const double*,
                             const double*, index_t, index_t, const FitOptions<double>&);

}  // namespace entrena
