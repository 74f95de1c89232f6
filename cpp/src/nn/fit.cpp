#include "entrena/nn/fit.hpp"

#include <chrono>
#include <cmath>
#include <cstring>

namespace entrena {

index_t History::total_iterations() const {
  index_t t = 0;
  for (index_t i : iterations) t += i;
  return t;
}

void History::record(const EpochLogs& logs) {
  epoch.push_back(logs.epoch);
  loss.push_back(logs.loss);
  if (logs.has_val()) val_loss.push_back(logs.val_loss);
  lr.push_back(logs.lr);
  seconds.push_back(logs.seconds);
  iterations.push_back(logs.iterations);
}

namespace {

double monitored(const std::string& monitor, const EpochLogs& logs) {
  return monitor == "loss" ? logs.loss : logs.val_loss;
}

void check_monitor(const char* who, const std::string& monitor, bool has_val) {
  if (monitor != "loss" && monitor != "val_loss")
    throw ValueError(cat(who, ": monitor must be \"loss\" or \"val_loss\", got \"", monitor, "\""));
  if (monitor == "val_loss" && !has_val)
    throw ValueError(cat(who, ": monitor \"val_loss\" needs validation data (FitOptions::validation)"));
}

}  // namespace

template <class T>
History fit(Sequential<T>& model, Loss<T>& loss, Optimizer<T>& optimizer, const T* X, const T* Y,
            index_t n, index_t target_width, const FitOptions<T>& o) {
  if (!model.built())
    throw StateError("fit: the model is not built yet (call model.build(input_shape) first)");
  if (!X || !Y) throw ValueError("fit: X and Y must not be null");
  if (n < 1) throw ValueError(cat("fit: n must be >= 1, got ", n));
  if (target_width < 1) throw ValueError(cat("fit: target_width must be >= 1, got ", target_width));
  if (o.epochs < 0) throw ValueError(cat("fit: epochs must be >= 0, got ", o.epochs));
  if (o.batch_size < 1) throw ValueError(cat("fit: batch_size must be >= 1, got ", o.batch_size));
  if (o.initial_epoch < 0) throw ValueError(cat("fit: initial_epoch must be >= 0, got ", o.initial_epoch));
  if (o.eval_batch_size < 1)
    throw ValueError(cat("fit: eval_batch_size must be >= 1, got ", o.eval_batch_size));
  if (o.drop_last && o.batch_size > n)
    throw ValueError(cat("fit: batch_size (", o.batch_size, ") is larger than the ", n,
                         " training samples and drop_last is set: no batch would remain"));
  loss.check_target(shape_size(model.output_shape()), target_width);

  const bool has_val = o.validation.X != nullptr;
  if (has_val) {
    if (!o.validation.Y) throw ValueError("fit: validation.Y must not be null when validation.X is given");
    if (o.validation.n < 1) throw ValueError(cat("fit: validation.n must be >= 1, got ", o.validation.n));
  }
  const EarlyStopping& es = o.early_stopping;
  if (es.enabled) {
    check_monitor("fit: early_stopping", es.monitor, has_val);
    if (es.patience < 0) throw ValueError(cat("fit: early_stopping.patience must be >= 0, got ", es.patience));
    if (!std::isfinite(es.min_delta))
      throw ValueError(cat("fit: early_stopping.min_delta must be finite, got ", es.min_delta));
  }
  const std::string sched_monitor =
      o.schedule_monitor.empty() ? (has_val ? "val_loss" : "loss") : o.schedule_monitor;
  if (o.schedule) check_monitor("fit: schedule_monitor", sched_monitor, has_val);

  if (o.seed) model.seed(*o.seed);
  if (o.schedule && !o.schedule->started()) o.schedule->reset(optimizer.lr());

  History h;
  const double min_delta = std::fabs(es.min_delta);
  double best = std::numeric_limits<double>::infinity();
  index_t wait = 0;
  std::vector<T> best_weights;
  double prev_metric = std::numeric_limits<double>::quiet_NaN();

  for (index_t e = o.initial_epoch; e < o.initial_epoch + o.epochs; ++e) {
    if (o.schedule) {
      const double lr = o.schedule->lr_at(e, o.schedule->uses_metric()
                                                 ? prev_metric
                                                 : std::numeric_limits<double>::quiet_NaN());
      optimizer.set_lr(lr);
    }
    EpochLogs logs;
    logs.epoch = e;
    logs.lr = optimizer.lr();
    const auto t0 = std::chrono::steady_clock::now();
    const EpochStats st = train_epoch<T>(model, loss, optimizer, X, Y, n, target_width, o.batch_size,
                                         o.shuffle, o.drop_last, o.progress, o.progress_every);
    logs.iterations = st.iterations;
    if (st.nonfinite_batch >= 0) {
      logs.loss = st.nonfinite_loss;
      logs.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!o.terminate_on_nonfinite)
        throw StateError(cat("fit: the loss became ", st.nonfinite_loss, " at epoch ", e + 1, ", batch ",
                             st.nonfinite_batch + 1, "; the parameters keep their values from before that "
                             "batch. Lower the learning rate or check the data "
                             "(FitOptions::terminate_on_nonfinite stops without this error)"));
      h.record(logs);
      h.stop_reason = "nonfinite_loss";
      break;
    }
    logs.loss = st.loss;
    if (has_val)
      logs.val_loss = evaluate<T>(model, loss, o.validation.X, o.validation.Y, o.validation.n, target_width,
                                  o.eval_batch_size);
    logs.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    h.record(logs);
    prev_metric = monitored(sched_monitor, logs);

    bool stop = false;
    if (es.enabled) {
      const double v = monitored(es.monitor, logs);
      if (v < best - min_delta) {
        best = v;
        wait = 0;
        h.best_epoch = e;
        h.best = v;
        if (es.restore_best_weights) best_weights.assign(model.params(), model.params() + model.num_params());
      } else if (++wait >= es.patience) {
        stop = true;
        h.stop_reason = "early_stopping";
      }
    }
    if (o.on_epoch && !o.on_epoch(logs)) {
      stop = true;
      if (h.stop_reason.empty()) h.stop_reason = "callback";
    }
    if (stop) break;
  }

  if (es.enabled && es.restore_best_weights && h.stop_reason == "early_stopping" && !best_weights.empty()) {
    std::memcpy(model.params(), best_weights.data(), best_weights.size() * sizeof(T));
    h.restored_best_weights = true;
  }
  return h;
}

template History fit<float>(Sequential<float>&, Loss<float>&, Optimizer<float>&, const float*, const float*,
                            index_t, index_t, const FitOptions<float>&);
template History fit<double>(Sequential<double>&, Loss<double>&, Optimizer<double>&, const double*,
                             const double*, index_t, index_t, const FitOptions<double>&);

}  // namespace entrena
