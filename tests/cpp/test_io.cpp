// Model files: round trips (bitwise weights, same predictions, optimizer
// state, dtype conversion), the safetensors layout, atomic writes, and
// corrupt or hostile files, which must raise and never crash.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "check.hpp"
#include "entrena/entrena.hpp"

using namespace entrena;
namespace fs = std::filesystem;

namespace {

const fs::path kDir = fs::current_path() / "io_test_files";

std::string path_of(const std::string& name) { return (kDir / name).string(); }

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string le64(std::uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return s;
}

// A safetensors file from a header text and data bytes.
std::string st_file(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

template <class T>
std::unique_ptr<Sequential<T>> model(std::uint64_t seed) {
  auto m = std::make_unique<Sequential<T>>(seed);
  m->add(make_layer<T>(Json::parse(R"({"type": "Dense", "units": 5, "activation": "relu", "kernel_init": "he_normal"})")));
  m->add(make_layer<T>(Json::parse(R"({"type": "Dropout", "rate": 0.1})")));
  m->add(make_layer<T>(Json::parse(R"({"type": "Dense", "units": 3, "use_bias": false})")));
  m->build({4});
  return m;
}

template <class T>
std::vector<T> outputs(Sequential<T>& m) {
  std::vector<T> x(7 * 4), y(7 * 3);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(0.1 * static_cast<double>(i) - 1.0);
  predict<T>(m, x.data(), 7, y.data());
  return y;
}

std::vector<float> outputs3(Sequential<float>& m) {
  std::vector<float> x(5 * 3), y(5 * 2);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) - 4.0f;
  predict<float>(m, x.data(), 5, y.data());
  return y;
}

std::size_t temp_files_in(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) ++n;
  return n;
}

struct Setup {
  Setup() {
    fs::remove_all(kDir);
    fs::create_directories(kDir);
  }
} setup;

}  // namespace

template <class T>
void round_trip() {
  auto m = model<T>(42);
  const std::string p = path_of(std::string("rt_") + dtype_name(dtype_of<T>()) + ".safetensors");
  save(*m, p, {{"loss", R"({"name": "categorical_crossentropy"})"}, {"note", "héllo"}});
  LoadedModel<T> l = load<T>(p);
  CHECK(l.model != nullptr);
  CHECK_EQ(l.model->num_params(), m->num_params());
  bool bitwise = std::memcmp(l.model->params(), m->params(), sizeof(T) * static_cast<std::size_t>(m->num_params())) == 0;
  CHECK(bitwise);
  CHECK(outputs(*l.model) == outputs(*m));
  CHECK_EQ(l.metadata.at("format"), std::string("entrena"));
  CHECK_EQ(l.metadata.at("dtype"), std::string(dtype_name(dtype_of<T>())));
  CHECK_EQ(l.metadata.at("entrena_version"), std::string(version()));
  CHECK_EQ(l.metadata.at("note"), std::string("héllo"));
  CHECK(Json::parse(l.metadata.at("architecture")) == architecture(*m));
  CHECK(!l.optimizer.has_value());
  CHECK(l.file_dtype == dtype_of<T>());
}

TEST(buffers_and_parameter_options_round_trip) {
  Sequential<float> m(8);
  m.add(make_layer<float>(Json::parse(R"({"type": "Normalization"})")));
  m.add(make_layer<float>(Json::parse(R"({"type": "Dense", "units": 2, "name": "out"})")));
  m.build({3});
  const float X[] = {1, 2, 3, 3, 4, 9};
  dynamic_cast<Normalization<float>&>(m.layer(0)).adapt(X, 2);
  CHECK_EQ(m.buffers()[0], 2.0f);  // mean of the first feature
  CHECK_EQ(m.buffers()[5], 9.0f);  // variance of the third
  m.set_param_options(1, ParamOptions{false});
  const std::string p = path_of("buffers.safetensors");
  save(m, p);
  const SafetensorsFile f = read_safetensors(p);
  CHECK(f.find("layers.0.mean") != nullptr);
  CHECK(f.find("layers.0.variance") != nullptr);
  CHECK(Json::parse(f.metadata.at("param_options")) == Json::parse(R"({"layers.1.b": {"weight_decay": false}})"));
  LoadedModel<float> l = load<float>(p);
  CHECK(std::memcmp(l.model->buffers(), m.buffers(), 6 * sizeof(float)) == 0);
  CHECK(!l.model->param_options(1).weight_decay);
  CHECK(l.model->param_options(0).weight_decay);
  CHECK_EQ(l.model->layer(1).name(), std::string("out"));
  CHECK(outputs3(*l.model) == outputs3(m));
}

TEST(round_trip_float32) { round_trip<float>(); }
TEST(round_trip_float64) { round_trip<double>(); }

TEST(the_file_is_plain_safetensors) {
  auto m = model<float>(1);
  const std::string p = path_of("layout.safetensors");
  save(*m, p);
  const SafetensorsFile f = read_safetensors(p);
  std::vector<std::string> names;
  for (const auto& t : f.tensors) names.push_back(t.first);
  CHECK_EQ(names, (std::vector<std::string>{"layers.0.W", "layers.0.b", "layers.2.W"}));
  CHECK_EQ(f.find("layers.0.W")->shape, (Shape{4, 5}));
  CHECK_EQ(f.find("layers.2.W")->shape, (Shape{5, 3}));
  CHECK(f.find("layers.0.W")->dtype == DType::F32);
  const std::vector<float> w = f.find("layers.0.W")->values<float>();
  CHECK(std::memcmp(w.data(), m->params(), w.size() * sizeof(float)) == 0);
  const std::string bytes = read_bytes(p);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  CHECK_EQ(n % 8, 0u);  // data aligned to 8 bytes
  CHECK_EQ(bytes[8], '{');
  CHECK_EQ(bytes.size(), 8 + n + sizeof(float) * static_cast<std::size_t>(m->num_params()));
  const SafetensorsFile h = read_safetensors_header(p);
  CHECK_EQ(h.tensors.size(), 3u);
  CHECK(h.tensors[0].second.bytes.empty());
}

TEST(optimizer_state_round_trip) {
  auto m = model<float>(3);
  const float X[] = {1, 2, 3, 4, 4, 3, 2, 1};
  const float Y[] = {0, 2};
  CategoricalCrossentropy<float> loss;
  Adam<float> opt(0.01);
  for (int i = 0; i < 3; ++i) train_epoch<float>(*m, loss, opt, X, Y, 2, 1, 2, false, false);
  const OptimizerState<float> st = optimizer_state(opt);
  CHECK_EQ(st.steps, 3);
  CHECK_EQ(st.buffers.size(), 2u);
  const std::string p = path_of("with_opt.safetensors");
  save(*m, p, {}, &st);
  const SafetensorsFile f = read_safetensors(p);
  CHECK(f.find("optimizer.exp_avg") != nullptr);
  CHECK(f.find("optimizer.exp_avg_sq") != nullptr);
  CHECK(Json::parse(f.metadata.at("optimizer_state")) == Json::parse(R"({"name": "adam", "steps": 3})"));

  LoadedModel<float> l = load<float>(p);
  CHECK(l.optimizer.has_value());
  Adam<float> opt2(0.01);
  restore_optimizer_state(opt2, *l.optimizer, l.model->num_params());
  CHECK_EQ(opt2.steps(), 3);
  // One more step from the restored state matches one more step of the
  // original (the generator, used by dropout, is not part of the file).
  m->seed(77);
  l.model->seed(77);
  train_epoch<float>(*m, loss, opt, X, Y, 2, 1, 2, false, false);
  train_epoch<float>(*l.model, loss, opt2, X, Y, 2, 1, 2, false, false);
  CHECK(std::memcmp(m->params(), l.model->params(), sizeof(float) * static_cast<std::size_t>(m->num_params())) == 0);

  SGD<float> sgd(0.1, 0.9);
  CHECK_THROWS(ValueError, restore_optimizer_state(sgd, *l.optimizer, l.model->num_params()), "saved for 'adam'");
  Adam<float> ams(0.01, 0.9, 0.999, 1e-8, 0.0, true);
  CHECK_THROWS(ValueError, restore_optimizer_state(ams, *l.optimizer, l.model->num_params()), "missing buffer 'max_exp_avg_sq'");
}

TEST(other_dtype_is_converted_or_rejected) {
  auto m = model<double>(9);
  const std::string p = path_of("f64.safetensors");
  save(*m, p);
  LoadedModel<float> l = load<float>(p);
  CHECK(l.file_dtype == DType::F64);
  CHECK_EQ(l.model->params()[0], static_cast<float>(m->params()[0]));
  CHECK_THROWS(FormatError, load<float>(p, false), "holds float64 weights and a float32 model was asked for");
  const SafetensorsFile f = read_model_file(p);
  CHECK(model_file_dtype(f, p) == DType::F64);
}

TEST(saving_checks_its_arguments) {
  Sequential<float> unbuilt;
  unbuilt.add(std::make_unique<Dense<float>>(2));
  CHECK_THROWS(StateError, save(unbuilt, path_of("x.safetensors")), "not built");
  auto m = model<float>(1);
  CHECK_THROWS(ValueError, save(*m, path_of("x.safetensors"), {{"format", "mine"}}), "reserved");
  CHECK_THROWS(ValueError, save(*m, path_of("x.safetensors"), {{"bad", "\xff\xfe"}}), "UTF-8");
  CHECK(!fs::exists(path_of("x.safetensors")));
  CHECK_EQ(temp_files_in(kDir), 0u);
}

TEST(writes_are_atomic) {
  auto m = model<float>(1);
  const std::string p = path_of("atomic.safetensors");
  write_bytes(p, "old content");
  save(*m, p);  // replaces it
  CHECK(load<float>(p).model != nullptr);
  CHECK_EQ(temp_files_in(kDir), 0u);
  // A directory that does not exist: IOError, nothing left behind.
  CHECK_THROWS(IOError, save(*m, path_of("no_such_dir/m.safetensors")), "no_such_dir");
  // The destination is a directory: the rename fails, the temp file is removed.
  fs::create_directories(kDir / "a_dir");
  CHECK_THROWS(IOError, save(*m, path_of("a_dir")), "a_dir");
  CHECK(fs::is_directory(kDir / "a_dir"));
  CHECK_EQ(temp_files_in(kDir), 0u);
}

TEST(unreadable_files_are_io_errors) {
  CHECK_THROWS(IOError, load<float>(path_of("missing.safetensors")), "missing.safetensors");
  CHECK_THROWS(IOError, load<float>(kDir.string()), "directory");
}

// Each corrupt file must raise FormatError (a ValueError) naming the problem.
TEST(corrupt_files_raise_format_errors) {
  auto m = model<float>(2);
  const std::string good = path_of("good.safetensors");
  save(*m, good);
  const std::string bytes = read_bytes(good);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  const std::string header = bytes.substr(8, n), data = bytes.substr(8 + n);
  const std::string p = path_of("bad.safetensors");

  auto expect = [&](const std::string& content, const char* contains) {
    write_bytes(p, content);
    CHECK_THROWS(FormatError, load<float>(p), contains);
    CHECK_THROWS(FormatError, read_safetensors(p), "");
  };
  auto expect_model = [&](const std::string& content, const char* contains) {
    write_bytes(p, content);
    CHECK_THROWS(FormatError, load<double>(p), contains);
  };

  expect("", "fewer than the 8");
  expect("abc", "fewer than the 8");
  expect(bytes.substr(0, bytes.size() - 1), "truncated");                     // truncated data
  expect(bytes.substr(0, 8 + n / 2), "only");                                 // truncated header
  expect(le64(0xFFFFFFFFFFFFFFFFull) + header, "more than the limit");         // huge header length
  expect(le64(200u * 1024 * 1024) + header, "more than the limit");
  expect(le64(n + 4) + header + data, "not valid JSON");                       // header length off
  expect(st_file("{\"a\": ", ""), "not valid JSON");
  expect(st_file("[1, 2]  ", ""), "does not start with '{'");
  expect(st_file(std::string(1, '\0') + "       ", ""), "does not start with '{'");
  expect(st_file(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}})", std::string(8, 'x')), "go past");
  expect(st_file(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", std::string(8, 'x')), "span 4");
  expect(st_file(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [4, 0]}})", std::string(8, 'x')), "end before");
  expect(st_file(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [-1, 7]}})", std::string(8, 'x')), "integers >= 0");
  expect(st_file(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", std::string(8, 'x')), "holes");
  expect(st_file(R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", std::string(8, 'x')), "cover 4 bytes");
  expect(st_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                 std::string(8, 'x')), "overlaps");
  expect(st_file(R"({"t": {"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 8]}})",
                 std::string(8, 'x')), "more bytes than the file has");
  expect(st_file(R"({"t": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", std::string(8, 'x')), "integers >= 0");
  expect(st_file(R"({"t": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}})", std::string(8, 'x')), "integers >= 0");
  expect(st_file(R"({"t": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]}})", std::string(8, 'x')), "BF16 is not supported");
  expect(st_file(R"({"t": {"dtype": "F32", "shape": [2]}})", std::string(8, 'x')), "data_offsets");
  expect(st_file(R"({"t": [1, 2]})", ""), "expected an object");
  expect(st_file(R"({"__metadata__": {"format": 1}})", ""), "not a string");
  expect(st_file(R"({"__metadata__": [1]})", ""), "__metadata__ is not an object");

  // Valid safetensors, but not an entrena model (or not a consistent one).
  expect_model(st_file(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", std::string(8, 'x')),
               "not an entrena model file");
  expect_model(st_file(R"({"__metadata__": {"format": "pt"}})", ""), "its format is 'pt'");
  expect_model(st_file(R"({"__metadata__": {"format": "entrena", "dtype": "float32"}})", ""), "'architecture'");
  expect_model(st_file(R"({"__metadata__": {"format": "entrena", "dtype": "int8", "architecture": "{}"}})", ""), "'float32' or 'float64'");
  expect_model(st_file(R"({"__metadata__": {"format": "entrena", "dtype": "float32", "architecture": "{oops"}})", ""), "not valid JSON");
  expect_model(st_file(R"({"__metadata__": {"format": "entrena", "dtype": "float32", "architecture": "{\"input_shape\": [2], \"layers\": [{\"type\": \"Magic\"}]}"}})", ""),
               "architecture.layers[0]");
  expect_model(st_file(R"({"__metadata__": {"format": "entrena", "dtype": "float32", "architecture": "{\"input_shape\": [2], \"layers\": [{\"type\": \"Dense\", \"units\": 1}]}"}})", ""),
               "missing tensor 'layers.0.W'");
  expect_model(st_file(R"({"__metadata__": {"format": "entrena", "dtype": "float32", "architecture": "{\"input_shape\": [2], \"layers\": [{\"type\": \"Dense\", \"units\": 1, \"use_bias\": false}]}"}, )"
                       R"("layers.0.W": {"dtype": "F32", "shape": [1, 2], "data_offsets": [0, 8]}})", std::string(8, 'x')),
               "has shape (1, 2), the architecture needs (2, 1)");
  expect_model(st_file(R"({"__metadata__": {"format": "entrena", "dtype": "float32", "architecture": "{\"input_shape\": [2], \"layers\": [{\"type\": \"Dense\", \"units\": 1, \"use_bias\": false}]}"}, )"
                       R"("layers.0.W": {"dtype": "F64", "shape": [2, 1], "data_offsets": [0, 16]}})", std::string(16, 'x')),
               "is F64 but the file's dtype is float32");
  expect_model(st_file(R"({"__metadata__": {"format": "entrena", "dtype": "float32", "architecture": "{\"input_shape\": [2], \"layers\": [{\"type\": \"Dense\", \"units\": 1, \"use_bias\": false}]}"}, )"
                       R"("layers.0.W": {"dtype": "F32", "shape": [2, 1], "data_offsets": [0, 8]}, "extra": {"dtype": "F32", "shape": [], "data_offsets": [8, 12]}})",
                       std::string(12, 'x')),
               "unexpected tensor 'extra'");
  expect_model(st_file(R"({"__metadata__": {"format": "entrena", "dtype": "float32", "architecture": "{\"input_shape\": [2], \"layers\": [{\"type\": \"Dense\", \"units\": 1, \"use_bias\": false}]}"}, )"
                       R"("layers.0.W": {"dtype": "F32", "shape": [2, 1], "data_offsets": [0, 8]}, "optimizer.m": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                       std::string(16, 'x')),
               "without the metadata key 'optimizer_state'");
  // A hostile architecture: huge layers are refused before anything is allocated.
  expect_model(st_file(R"({"__metadata__": {"format": "entrena", "dtype": "float32", "architecture": "{\"input_shape\": [1000000000], \"layers\": [{\"type\": \"Dense\", \"units\": 1000000000}]}"}})", ""),
               "2^40");
  // Every single-byte truncation of a good file fails cleanly.
  for (std::size_t cut = 0; cut < bytes.size(); cut += 7) {
    write_bytes(p, bytes.substr(0, cut));
    CHECK_THROWS(FormatError, load<float>(p), "");
  }
  // Flipping each byte of the header never crashes (it may still load).
  for (std::size_t i = 8; i < 8 + n; i += 3) {
    std::string b = bytes;
    b[i] = static_cast<char>(b[i] ^ 0x5A);
    write_bytes(p, b);
    try {
      (void)load<float>(p);
    } catch (const ValueError&) {
    }
  }
}

ENTRENA_TEST_MAIN
