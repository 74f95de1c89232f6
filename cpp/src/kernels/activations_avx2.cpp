// The avx2 variant of the activation kernels (see activations_impl.hpp).
#define ENTRENA_ISA_NS isa_avx2
#define ENTRENA_VBYTES 32
#include "activations_impl.hpp"
