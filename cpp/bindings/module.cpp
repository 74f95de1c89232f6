// entrena._core: the pybind11 module over the entrena C++ library.
#include "common.hpp"

using namespace entrena;

PYBIND11_MODULE(_core, m) {
  m.doc() = "entrena's C++ engine";
  m.attr("__version__") = ENTRENA_VERSION;

  // entrena::Error subclasses become the matching Python exceptions.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const entrena::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const entrena::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const entrena::IOError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    } catch (const entrena::NonFiniteLossError& e) {
      PyErr_SetString(PyExc_FloatingPointError, e.what());
    } catch (const entrena::StateError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const entrena::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  bind::bind_runtime(m);
  bind::bind_cpu(m);
  py::module_ k = m.def_submodule("kernels", "Raw kernels, exposed for testing against the NumPy reference");
  bind::bind_dense_kernels(k);
  bind::bind_check_kernels(k);
  bind::bind_activation_kernels(k);
  bind::bind_loss_kernels(k);
  bind::bind_optimizer_kernels(k);
  bind::bind_normalization_kernels(k);
  bind::bind_augment_kernels(k);
  bind::bind_pooling_kernels(k);
  bind::bind_norm_layer_kernels(k);
  bind::bind_conv_kernels(k);
  bind::bind_recurrent_kernels(k);
  py::module_ f32 = m.def_submodule("f32", "float32 models, losses and optimizers");
  py::module_ f64 = m.def_submodule("f64", "float64 models, losses and optimizers");
  bind::bind_model(f32, f64);
  bind::bind_losses(f32, f64);
  bind::bind_optimizers(f32, f64);
  bind::bind_metrics(f32, f64);
  bind::bind_io(m);
  bind::bind_schedules(m);
  bind::bind_distributed(m);
}
