// Training and prediction allocate nothing per batch once warm: every allocation (the
// global operator new, which AlignedBuffer also uses, is replaced here to
// count them) made during one epoch is the same for 4 batches as for 40,
// for networks of every layer type, float32 and float64.
#include <cstring>
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "check.hpp"
#include "entrena/entrena.hpp"

using namespace entrena;

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t al) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t a = static_cast<std::size_t>(al);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

// Every layer for images and sequences, in two networks on (1, 12, 12).
const char* kNetworks[] = {
    R"({"input_shape": [1, 12, 12], "layers": [
      {"type": "RandomFlip", "mode": "horizontal_and_vertical"},
      {"type": "RandomTranslation", "height_factor": 0.1, "width_factor": 0.1},
      {"type": "RandomRotation", "factor": 0.05},
      {"type": "RandomCrop", "height": 12, "width": 12, "padding": 1},
      {"type": "GaussianNoise", "stddev": 0.1},
      {"type": "ZeroPadding2D", "padding": 1},
      {"type": "Conv2D", "filters": 4, "kernel_size": 3, "activation": "relu"},
      {"type": "BatchNormalization"},
      {"type": "MaxPool2D", "pool_size": 2},
      {"type": "Conv2D", "filters": 8, "kernel_size": 3, "padding": "same", "groups": 4, "activation": "elu"},
      {"type": "AvgPool2D", "pool_size": 2},
      {"type": "Reshape", "target_shape": [8, 9]},
      {"type": "Conv1D", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "tanh"},
      {"type": "MaxPool1D", "pool_size": 3},
      {"type": "AvgPool1D", "pool_size": 1},
      {"type": "LayerNormalization"},
      {"type": "GlobalMaxPooling1D"},
      {"type": "Dropout", "rate": 0.1},
      {"type": "Dense", "units": 3}]})",
    R"({"input_shape": [1, 12, 12], "layers": [
      {"type": "Conv2D", "filters": 16, "kernel_size": 3, "strides": 2, "dilation_rate": 1, "padding": 1},
      {"type": "BatchNormalization", "momentum": 0.2},
      {"type": "Activation", "activation": "relu"},
      {"type": "Conv2D", "filters": 16, "kernel_size": 3, "padding": "same", "activation": "relu"},
      {"type": "Reshape", "target_shape": [16, 6, 6]},
      {"type": "GlobalAveragePooling2D"},
      {"type": "Dense", "units": 3}]})",
    R"({"input_shape": [1, 12, 12], "layers": [
      {"type": "Conv2D", "filters": 8, "kernel_size": 5, "activation": "relu"},
      {"type": "GlobalMaxPooling2D"},
      {"type": "Dense", "units": 3}]})",
    // Sequences: 12 steps of 12 features, the last steps of some zeroed (masked).
    R"({"input_shape": [12, 12], "layers": [
      {"type": "Masking", "mask_value": 0},
      {"type": "LSTM", "units": 8, "return_sequences": true, "dropout": 0.1},
      {"type": "Bidirectional", "layer": {"type": "GRU", "units": 6}, "merge_mode": "concat"},
      {"type": "Dense", "units": 3}]})",
    R"({"input_shape": [12, 12], "layers": [
      {"type": "SimpleRNN", "units": 8, "activation": "relu", "return_sequences": true, "go_backwards": true},
      {"type": "Dense", "units": 3}]})",
    // Token ids 0..9 (0 is padding): Embedding's mask, per-step outputs.
    R"({"input_shape": [144], "layers": [
      {"type": "Embedding", "num_embeddings": 10, "embedding_dim": 4, "padding_idx": 0},
      {"type": "GRU", "units": 8, "return_sequences": true},
      {"type": "Dense", "units": 3}]})",
};

// The allocations made during the last of three epochs of n samples (with
// a validation pass over the first 64), and during a prediction of n
// samples in batches of 16 after a first one.
template <class T>
std::pair<long, long> allocations_in_an_epoch(const char* network, index_t n) {
  auto model = model_from_architecture<T>(Json::parse(network), 7);
  const bool ids = std::strstr(network, "Embedding") != nullptr;
  const index_t targets = shape_size(model->output_shape()) / 3;  // one class per output position
  std::vector<T> X(static_cast<std::size_t>(n * 144)), y(static_cast<std::size_t>(n * targets));
  Rng rng(3);
  for (std::size_t i = 0; i < X.size(); ++i) {
    const index_t sample = static_cast<index_t>(i) / 144, at = static_cast<index_t>(i) % 144;
    // ids with padding at the end; values with the last steps (12 values each) zero
    X[i] = ids ? static_cast<T>(at < 144 - 9 * (sample % 4) ? 1 + (i % 9) : 0)
               : at >= 144 - 12 * (sample % 3) ? T(0) : static_cast<T>(rng.normal());
  }
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<T>(i % 3);
  CategoricalCrossentropy<T> loss;
  Adam<T> opt(1e-3);
  FitOptions<T> o;
  o.epochs = 3;
  o.batch_size = 16;
  o.validation.X = X.data();
  o.validation.Y = y.data();
  o.validation.n = 64;
  long at_begin = 0, during = -1;
  o.on_epoch_begin = [&](index_t e) {
    if (e == 2) at_begin = g_allocations.load();
  };
  o.on_epoch = [&](const EpochLogs& logs) {
    if (logs.epoch == 2) during = g_allocations.load() - at_begin;
    return true;
  };
  fit(*model, loss, opt, X.data(), y.data(), n, targets, o);
  std::vector<T> out(static_cast<std::size_t>(n * 3 * targets));
  predict<T>(*model, X.data(), n, out.data(), 16);
  const long before = g_allocations.load();
  predict<T>(*model, X.data(), n, out.data(), 16);
  return {during, g_allocations.load() - before};
}

template <class T>
void check_networks() {
  for (const char* network : kNetworks) {
    const auto few = allocations_in_an_epoch<T>(network, 4 * 16);
    const auto many = allocations_in_an_epoch<T>(network, 16 * 16);
    CHECK(few.first >= 0);
    CHECK_EQ(many.first, few.first);
    CHECK_EQ(many.second, few.second);
  }
}

}  // namespace

TEST(no_allocation_per_batch_float32) { check_networks<float>(); }
TEST(no_allocation_per_batch_float64) { check_networks<double>(); }

TEST(the_counter_sees_aligned_buffers) {
  const long before = g_allocations.load();
  { AlignedBuffer<float> b(1000); }
  CHECK_EQ(g_allocations.load() - before, 1L);
}

ENTRENA_TEST_MAIN
