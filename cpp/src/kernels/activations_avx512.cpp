// The avx512 variant of the activation kernels (see activations_impl.hpp).
#define ENTRENA_ISA_NS isa_avx512
#define ENTRENA_VBYTES 64
#include "activations_impl.hpp"
