// Loads a model that Python trained and saved (examples/python_train_and_save.py)
// and prints its outputs for the same images, in the same format as the
// Python script, so the two printouts can be compared line by line.
//   ./predict_digits digits_model.safetensors digits_samples.csv
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <entrena/entrena.hpp>

namespace en = entrena;

// One sample per line, comma-separated pixel values.
static std::vector<float> read_csv(const std::string& path, en::index_t width, en::index_t& rows) {
  std::ifstream f(path);
  if (!f) throw en::IOError(path + ": cannot open for reading");
  std::vector<float> out;
  std::string line;
  rows = 0;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    std::istringstream ls(line);
    ls.imbue(std::locale::classic());
    std::string cell;
    en::index_t cols = 0;
    while (std::getline(ls, cell, ',')) {
      out.push_back(std::stof(cell));
      ++cols;
    }
    if (cols != width)
      throw en::ValueError(en::cat(path, ": line ", rows + 1, " has ", cols, " values, the model expects ", width));
    ++rows;
  }
  return out;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL.safetensors SAMPLES.csv\n", argv[0]);
    return 2;
  }
  try {
    en::LoadedModel<float> l = en::load<float>(argv[1]);
    en::Sequential<float>& model = *l.model;
    const en::index_t width = en::shape_size(model.input_shape());
    const en::index_t classes = en::shape_size(model.output_shape());
    en::index_t n = 0;
    const std::vector<float> X = read_csv(argv[2], width, n);
    std::vector<float> out(static_cast<std::size_t>(n * classes));
    en::predict(model, X.data(), n, out.data());
    std::printf("model: %s (entrena %s, %s)\n", argv[1], l.metadata["entrena_version"].c_str(),
                l.metadata["dtype"].c_str());
    for (en::index_t i = 0; i < n; ++i) {
      const float* row = out.data() + i * classes;
      en::index_t best = 0;
      for (en::index_t k = 1; k < classes; ++k)
        if (row[k] > row[best]) best = k;
      std::printf("image %lld: class %lld, outputs", static_cast<long long>(i), static_cast<long long>(best));
      for (en::index_t k = 0; k < classes; ++k) std::printf(" %.4f", row[k]);
      std::printf("\n");
    }
  } catch (const en::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
