// The generic variant of the activation kernels (see activations_impl.hpp).
#define ENTRENA_ISA_NS isa_generic
#define ENTRENA_VBYTES 16
#include "activations_impl.hpp"
