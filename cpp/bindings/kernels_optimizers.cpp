// Optimizer step and gradient clipping kernels, exposed for tests against the
// NumPy reference. All of them update their array arguments in place.
#include "common.hpp"

namespace entrena::bind {

namespace {

template <class T>
using Opt = std::optional<Array<T>>;

// The data of an optional state buffer of p's shape: required when `needed`
// (ValueError naming the buffer and the option needing it otherwise).
template <class T>
T* buffer(Opt<T>& b, const char* name, const Array<T>& p, bool needed, const char* why) {
  if (!b) {
    if (needed) throw ValueError(cat(name, ": expected an array when ", why, ", got None"));
    return nullptr;
  }
  check_same(p, "p", *b, name);
  return b->mutable_data();
}

template <class T>
void bind_typed(py::module_& m) {
  m.def("sgd_step",
        [](Array<T> p, const Array<T>& grad, Opt<T> momentum_buffer, double lr, double momentum,
           double dampening, double weight_decay, bool nesterov, bool first_step) {
          check_same(p, "p", grad, "grad");
          T* buf = buffer(momentum_buffer, "momentum_buffer", p, momentum != 0.0, "momentum != 0");
          sgd_step<T>(p.mutable_data(), grad.data(), buf, p.size(),
                      SgdConfig{lr, momentum, dampening, weight_decay, nesterov}, first_step);
        },
        py::arg("p").noconvert(), py::arg("grad").noconvert(),
        py::arg("momentum_buffer").noconvert() = py::none(), py::kw_only(), py::arg("lr"),
        py::arg("momentum") = 0.0, py::arg("dampening") = 0.0, py::arg("weight_decay") = 0.0,
        py::arg("nesterov") = false, py::arg("first_step") = false,
        "torch.optim.SGD update of p (and momentum_buffer) in place.");

  auto adam = [](bool decoupled) {
    return [decoupled](Array<T> p, const Array<T>& grad, Array<T> exp_avg, Array<T> exp_avg_sq,
                       Opt<T> max_exp_avg_sq, index_t step, double lr, double beta1, double beta2,
                       double eps, double weight_decay, bool amsgrad) {
      check_same(p, "p", grad, "grad");
      check_same(p, "p", exp_avg, "exp_avg");
      check_same(p, "p", exp_avg_sq, "exp_avg_sq");
      T* vmax = buffer(max_exp_avg_sq, "max_exp_avg_sq", p, amsgrad, "amsgrad=True");
      adam_step<T>(p.mutable_data(), grad.data(), exp_avg.mutable_data(),
                   exp_avg_sq.mutable_data(), vmax, p.size(),
                   AdamConfig{lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled}, step);
    };
  };
  for (bool decoupled : {false, true}) {
    m.def(decoupled ? "adamw_step" : "adam_step", adam(decoupled), py::arg("p").noconvert(),
          py::arg("grad").noconvert(), py::arg("exp_avg").noconvert(),
          py::arg("exp_avg_sq").noconvert(), py::arg("max_exp_avg_sq").noconvert() = py::none(),
          py::kw_only(), py::arg("step"), py::arg("lr") = 1e-3, py::arg("beta1") = 0.9,
          py::arg("beta2") = 0.999, py::arg("eps") = 1e-8,
          py::arg("weight_decay") = decoupled ? 1e-2 : 0.0, py::arg("amsgrad") = false,
          decoupled ? "torch.optim.AdamW update, step-th (1-based), in place."
                    : "torch.optim.Adam update, step-th (1-based), in place.");
  }

  m.def("rmsprop_step",
        [](Array<T> p, const Array<T>& grad, Array<T> square_avg, Opt<T> grad_avg,
           Opt<T> momentum_buffer, double lr, double alpha, double eps, double weight_decay,
           double momentum, bool centered) {
          check_same(p, "p", grad, "grad");
          check_same(p, "p", square_avg, "square_avg");
          T* a = buffer(grad_avg, "grad_avg", p, centered, "centered=True");
          T* b = buffer(momentum_buffer, "momentum_buffer", p, momentum > 0.0, "momentum > 0");
          rmsprop_step<T>(p.mutable_data(), grad.data(), square_avg.mutable_data(), a, b, p.size(),
                          RmspropConfig{lr, alpha, eps, weight_decay, momentum, centered});
        },
        py::arg("p").noconvert(), py::arg("grad").noconvert(), py::arg("square_avg").noconvert(),
        py::arg("grad_avg").noconvert() = py::none(),
        py::arg("momentum_buffer").noconvert() = py::none(), py::kw_only(),
        py::arg("lr") = 1e-2, py::arg("alpha") = 0.99, py::arg("eps") = 1e-8,
        py::arg("weight_decay") = 0.0, py::arg("momentum") = 0.0, py::arg("centered") = false,
        "torch.optim.RMSprop update in place.");

  m.def("adagrad_step",
        [](Array<T> p, const Array<T>& grad, Array<T> sum, index_t step, double lr,
           double lr_decay, double weight_decay, double eps) {
          check_same(p, "p", grad, "grad");
          check_same(p, "p", sum, "sum");
          adagrad_step<T>(p.mutable_data(), grad.data(), sum.mutable_data(), p.size(),
                          AdagradConfig{lr, lr_decay, weight_decay, 0.0, eps}, step);
        },
        py::arg("p").noconvert(), py::arg("grad").noconvert(), py::arg("sum").noconvert(),
        py::kw_only(), py::arg("step"), py::arg("lr") = 1e-2, py::arg("lr_decay") = 0.0,
        py::arg("weight_decay") = 0.0, py::arg("eps") = 1e-10,
        "torch.optim.Adagrad update, step-th (1-based), in place.");

  m.def("grad_norm", [](const Array<T>& g) { return grad_norm<T>(g.data(), g.size()); },
        py::arg("g").noconvert(), "Global L2 norm of g (fixed reduction order).");
  m.def("clip_grad_norm",
        [](Array<T> g, double max_norm) { return clip_grad_norm<T>(g.mutable_data(), g.size(), max_norm); },
        py::arg("g").noconvert(), py::arg("max_norm"),
        "torch.nn.utils.clip_grad_norm_ in place; returns the norm before clipping.");
  m.def("clip_grad_value",
        [](Array<T> g, double clip_value) { clip_grad_value<T>(g.mutable_data(), g.size(), clip_value); },
        py::arg("g").noconvert(), py::arg("clip_value"),
        "torch.nn.utils.clip_grad_value_ in place.");
}

}  // namespace

void bind_optimizer_kernels(py::module_& k) {
  bind_typed<float>(k);
  bind_typed<double>(k);
}

}  // namespace entrena::bind
