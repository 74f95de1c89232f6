// entrena: neural-network training on the CPU. The umbrella header.
#pragma once

#include "entrena/common.hpp"
#include "entrena/cpu.hpp"
#include "entrena/parallel.hpp"
#include "entrena/json.hpp"
#include "entrena/random.hpp"
#include "entrena/kernels/activations.hpp"
#include "entrena/kernels/checks.hpp"
#include "entrena/kernels/conv.hpp"
#include "entrena/kernels/dense.hpp"
#include "entrena/kernels/gemm.hpp"
#include "entrena/kernels/losses.hpp"
#include "entrena/kernels/normalization.hpp"
#include "entrena/kernels/optimizers.hpp"
#include "entrena/nn/activation.hpp"
#include "entrena/nn/conv.hpp"
#include "entrena/nn/dense.hpp"
#include "entrena/nn/dropout.hpp"
#include "entrena/nn/factory.hpp"
#include "entrena/nn/fit.hpp"
#include "entrena/nn/flatten.hpp"
#include "entrena/nn/initializer.hpp"
#include "entrena/nn/io.hpp"
#include "entrena/nn/layer.hpp"
#include "entrena/nn/loss.hpp"
#include "entrena/nn/metrics.hpp"
#include "entrena/nn/model.hpp"
#include "entrena/nn/normalization.hpp"
#include "entrena/nn/optimizer.hpp"
#include "entrena/nn/options.hpp"
#include "entrena/nn/params.hpp"
#include "entrena/nn/registry.hpp"
#include "entrena/nn/schedule.hpp"
#include "entrena/nn/trainer.hpp"
#include "entrena/safetensors.hpp"

namespace entrena {
// The library version, e.g. "0.1.0".
const char* version();
}  // namespace entrena
