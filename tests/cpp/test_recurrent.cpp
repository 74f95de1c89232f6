// Recurrent layers from C++: an LSTM built by its constructor learns a
// sequence task and round-trips through a model file; Embedding +
// Bidirectional(GRU) from configs with padding masked; the recurrent state
// in and out of a layer; bad configs, shapes and ids.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "check.hpp"
#include "entrena/entrena.hpp"

using namespace entrena;
namespace fs = std::filesystem;

namespace {

// Sequences of 10 steps of 2 features; the class says whether the first
// feature sums to more than zero over the sequence.
void sign_of_sum(index_t n, std::uint64_t seed, std::vector<float>& X, std::vector<float>& y) {
  Rng rng(seed);
  X.assign(static_cast<std::size_t>(n * 20), 0.0f);
  y.assign(static_cast<std::size_t>(n), 0.0f);
  for (index_t i = 0; i < n; ++i) {
    double s = 0;
    for (int t = 0; t < 10; ++t) {
      X[i * 20 + t * 2] = static_cast<float>(rng.normal());
      X[i * 20 + t * 2 + 1] = static_cast<float>(rng.normal());
      s += X[i * 20 + t * 2];
    }
    y[i] = s > 0 ? 1.0f : 0.0f;
  }
}

}  // namespace

TEST(an_lstm_learns_and_round_trips_through_a_file) {
  Sequential<float> m(3);
  m.add(LSTM<float>(16));
  m.add(Dense<float>(2));
  m.build({10, 2});
  CHECK_EQ(m.output_shape(), Shape{2});
  CHECK_EQ(m.layer(0).param_specs()[0].shape, (Shape{2, 64}));  // W_ih (features, 4·units)
  CHECK_EQ(m.layer(0).param_specs()[1].shape, (Shape{16, 64}));  // W_hh (units, 4·units)
  std::vector<float> X, y;
  sign_of_sum(512, 5, X, y);
  CategoricalCrossentropy<float> loss;
  Adam<float> opt(0.01);
  FitOptions<float> o;
  o.epochs = 15;
  o.batch_size = 32;
  o.metrics = {"accuracy"};
  History h = fit(m, loss, opt, X.data(), y.data(), 512, 1, o);
  CHECK(h["accuracy"].back() > 0.9);

  const fs::path dir = fs::current_path() / "recurrent_test_files";
  fs::create_directories(dir);
  const std::string path = (dir / "lstm.safetensors").string();
  save(m, path);
  LoadedModel<float> l = load<float>(path);
  CHECK(architecture(*l.model) == architecture(m));
  std::vector<float> p1(512 * 2), p2(512 * 2);
  predict<float>(m, X.data(), 512, p1.data());
  predict<float>(*l.model, X.data(), 512, p2.data());
  CHECK(p1 == p2);
  fs::remove_all(dir);
}

TEST(embedding_and_bidirectional_gru_skip_the_padding) {
  auto m = model_from_architecture<double>(Json::parse(R"({"input_shape": [6], "layers": [
    {"type": "Embedding", "num_embeddings": 8, "embedding_dim": 3, "padding_idx": 0},
    {"type": "Bidirectional", "layer": {"type": "GRU", "units": 4}, "merge_mode": "sum"},
    {"type": "Dense", "units": 2}]})"), 11);
  CHECK_EQ(m->output_shape(), Shape{2});
  CHECK_EQ(m->param_info()[1].name, std::string("layers.1.forward_W_ih"));
  // The same sequence, padded to 6 steps and cut to 4: the same outputs.
  const std::vector<double> padded{3, 1, 4, 1, 0, 0};
  const double* y6 = m->forward(padded.data(), 1, false);
  const std::vector<double> out6(y6, y6 + 2);
  auto m4 = model_from_architecture<double>(Json::parse(R"({"input_shape": [4], "layers": [
    {"type": "Embedding", "num_embeddings": 8, "embedding_dim": 3, "padding_idx": 0},
    {"type": "Bidirectional", "layer": {"type": "GRU", "units": 4}, "merge_mode": "sum"},
    {"type": "Dense", "units": 2}]})"), 11);
  std::memcpy(m4->params(), m->params(), sizeof(double) * static_cast<std::size_t>(m->num_params()));
  const std::vector<double> cut{3, 1, 4, 1};
  const double* y4 = m4->forward(cut.data(), 1, false);
  CHECK_NEAR(y4[0], out6[0], 1e-12);
  CHECK_NEAR(y4[1], out6[1], 1e-12);
  // The padding row starts at zero.
  for (int j = 0; j < 3; ++j) CHECK_EQ(m->params()[j], 0.0);
  // An id out of range is an error, before anything is read.
  const std::vector<double> bad{3, 1, 9, 1, 0, 0};
  CHECK_THROWS(ValueError, m->forward(bad.data(), 1, false), "ids: expected integers in [0, 8)");
}

TEST(the_state_goes_in_and_comes_out) {
  Sequential<double> m(4);
  m.add(LSTM<double>(3, /*return_sequences=*/false, /*return_state=*/true));
  m.build({5, 2});
  std::vector<double> x(2 * 5 * 2, 0.5), h0(2 * 3, 0.1), c0(2 * 3, -0.2);
  Layer<double>& l = m.layer(0);
  CHECK_EQ(l.state_specs().size(), 2u);
  const double* y = m.forward(x.data(), 2, false);
  const std::vector<double> from_zero(y, y + 6);
  l.set_initial_state({h0.data(), c0.data()}, 2);
  y = m.forward(x.data(), 2, false);
  CHECK(std::fabs(y[0] - from_zero[0]) > 1e-6);  // the initial state mattered
  const auto s = l.final_state();
  CHECK_EQ(s.size(), 2u);
  for (int i = 0; i < 6; ++i) CHECK_EQ(s[0][i], y[i]);  // h is the last output
  // The initial state is used once.
  y = m.forward(x.data(), 2, false);
  CHECK_EQ(y[0], from_zero[0]);
  // Gradients of the initial state after a backward pass.
  l.set_initial_state({h0.data(), c0.data()}, 2);
  m.forward(x.data(), 2, true);
  std::vector<double> dy(6, 1.0);
  m.zero_grad();
  m.backward(dy.data());
  const auto g = l.initial_state_grad();
  CHECK_EQ(g.size(), 2u);
  double total = 0;
  for (int i = 0; i < 6; ++i) total += std::fabs(g[0][i]) + std::fabs(g[1][i]);
  CHECK(total > 0);
}

TEST(bad_recurrent_configs_and_shapes) {
  auto make = [](const char* text) { return make_layer<float>(Json::parse(text)); };
  CHECK_THROWS(ValueError, make(R"({"type": "LSTM"})"), "units: missing");
  CHECK_THROWS(ValueError, make(R"({"type": "GRU", "units": 4, "dropout": 1})"), "dropout: expected a finite number in [0, 1)");
  CHECK_THROWS(ValueError, make(R"({"type": "SimpleRNN", "units": 4, "activation": "sigmoid"})"),
               "activation: expected one of");
  CHECK_THROWS(ValueError, make(R"({"type": "Bidirectional", "layer": {"type": "Dense", "units": 3}})"),
               "layer: expected a SimpleRNN, LSTM or GRU layer, got Dense");
  CHECK_THROWS(ValueError, make(R"({"type": "Bidirectional", "layer": {"type": "GRU", "units": 3}, "merge_mode": "max"})"),
               "merge_mode: expected one of");
  CHECK_THROWS(ValueError, make(R"({"type": "Embedding", "num_embeddings": 4, "embedding_dim": 2, "padding_idx": 4})"),
               "padding_idx: expected None or an integer in [0, 4), got 4");
  Sequential<float> m;
  m.add(GRU<float>(4));
  CHECK_THROWS(ValueError, m.build({8}), "GRU: expected sequences of shape (n, steps, features), got per-sample shape (8,)");
}

ENTRENA_TEST_MAIN
