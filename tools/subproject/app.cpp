// The smallest application of entrena: build a model and count its parameters.
#include <cstdio>
#include <entrena/entrena.hpp>

int main() {
  entrena::Sequential<float> m(1);
  m.add(entrena::make_layer<float>(entrena::Json::parse(R"({"type": "Dense", "units": 2})")));
  m.build({3});
  std::printf("entrena %s: %lld parameters\n", entrena::version(),
              static_cast<long long>(m.num_params()));
  return m.num_params() == 8 ? 0 : 1;
}
