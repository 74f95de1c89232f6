// Kernels one by one, for tests against the NumPy reference. Each function
// takes C-contiguous arrays of one dtype (float32 or float64) and returns
// new arrays; shapes are checked here.
#include "common.hpp"

namespace entrena::bind {

namespace {

template <class T>
void check_same(const Array<T>& a, const char* an, const Array<T>& b, const char* bn) {
  if (shape_of<T>(a) != shape_of<T>(b))
    throw ValueError(cat(bn, ": expected shape ", shape_str(shape_of<T>(a)), " (the shape of ", an,
                         "), got ", shape_str(shape_of<T>(b))));
}

template <class T>
Array<T> like(const Array<T>& a) {
  std::vector<py::ssize_t> sh(a.shape(), a.shape() + a.ndim());
  return Array<T>(sh);
}

template <class T>
void check_labels(const Array<T>& labels, index_t n, index_t c) {
  require_ndim(labels, "labels", 1);
  if (labels.shape(0) != n)
    throw ValueError(cat("labels: expected ", n, " labels, got ", labels.shape(0)));
  const T* l = labels.data();
  for (index_t i = 0; i < n; ++i)
    if (!(l[i] >= 0 && l[i] < c && l[i] == static_cast<T>(static_cast<index_t>(l[i]))))
      throw ValueError(cat("labels: expected class indices in [0, ", c, "), got ", l[i], " at ", i));
}

template <class T>
void bind_typed(py::module_& m) {
  m.def("gemm",
        [](const Array<T>& A, const Array<T>& B, bool trans_a, bool trans_b, T alpha, T beta,
           std::optional<Array<T>> C) {
          require_ndim(A, "A", 2);
          require_ndim(B, "B", 2);
          const index_t M = trans_a ? A.shape(1) : A.shape(0), K = trans_a ? A.shape(0) : A.shape(1);
          const index_t Kb = trans_b ? B.shape(1) : B.shape(0), N = trans_b ? B.shape(0) : B.shape(1);
          if (K != Kb) throw ValueError(cat("B: expected op(B) with ", K, " rows (op(A) has ", K, " columns), got ", Kb));
          Array<T> out({M, N});
          if (C) {
            require_ndim(*C, "C", 2);
            if (C->shape(0) != M || C->shape(1) != N)
              throw ValueError(cat("C: expected shape (", M, ", ", N, "), got ", shape_str(shape_of<T>(*C))));
            std::memcpy(out.mutable_data(), C->data(), sizeof(T) * M * N);
          } else if (beta != T(0)) {
            throw ValueError("C: required when beta != 0");
          }
          {
            py::gil_scoped_release nogil;
            gemm<T>(trans_a ? Trans::T : Trans::N, trans_b ? Trans::T : Trans::N, M, N, K, alpha,
                    A.data(), A.shape(1), B.data(), B.shape(1), beta, out.mutable_data(), N);
          }
          return out;
        },
        py::arg("A"), py::arg("B"), py::arg("trans_a") = false, py::arg("trans_b") = false,
        py::arg("alpha") = T(1), py::arg("beta") = T(0), py::arg("C") = py::none(),
        "C = alpha * op(A) @ op(B) + beta * C");

  m.def("dense_forward", [](const Array<T>& x, const Array<T>& W, std::optional<Array<T>> b) {
    require_ndim(x, "x", 2);
    require_ndim(W, "W", 2);
    const index_t n = x.shape(0), in = x.shape(1), out = W.shape(1);
    if (W.shape(0) != in) throw ValueError(cat("W: expected ", in, " rows, got ", W.shape(0)));
    if (b && (b->ndim() != 1 || b->shape(0) != out))
      throw ValueError(cat("b: expected shape (", out, ",), got ", shape_str(shape_of<T>(*b))));
    Array<T> y({n, out});
    dense_forward<T>(x.data(), W.data(), b ? b->data() : nullptr, y.mutable_data(), n, in, out);
    return y;
  }, py::arg("x"), py::arg("W"), py::arg("b") = py::none());

  m.def("dense_backward", [](const Array<T>& x, const Array<T>& W, const Array<T>& dy) {
    require_ndim(x, "x", 2);
    require_ndim(W, "W", 2);
    require_ndim(dy, "dy", 2);
    const index_t n = x.shape(0), in = x.shape(1), out = W.shape(1);
    if (W.shape(0) != in) throw ValueError(cat("W: expected ", in, " rows, got ", W.shape(0)));
    if (dy.shape(0) != n || dy.shape(1) != out)
      throw ValueError(cat("dy: expected shape (", n, ", ", out, "), got ", shape_str(shape_of<T>(dy))));
    Array<T> dx({n, in}), dW({in, out}), db({out});
    std::memset(dW.mutable_data(), 0, sizeof(T) * in * out);
    std::memset(db.mutable_data(), 0, sizeof(T) * out);
    dense_backward<T>(x.data(), W.data(), dy.data(), dW.mutable_data(), db.mutable_data(),
                      dx.mutable_data(), n, in, out);
    return py::make_tuple(dx, dW, db);
  }, py::arg("x"), py::arg("W"), py::arg("dy"), "Returns (dx, dW, db).");

  m.def("relu_forward", [](const Array<T>& x) {
    Array<T> y = like(x);
    relu_forward<T>(x.data(), y.mutable_data(), x.size());
    return y;
  }, py::arg("x"));
  m.def("relu_backward", [](const Array<T>& x, const Array<T>& dy) {
    check_same(x, "x", dy, "dy");
    Array<T> dx = like(x);
    relu_backward<T>(x.data(), dy.data(), dx.mutable_data(), x.size());
    return dx;
  }, py::arg("x"), py::arg("dy"));
  m.def("softmax_forward", [](const Array<T>& x) {
    require_ndim(x, "x", 2);
    Array<T> y = like(x);
    softmax_forward<T>(x.data(), y.mutable_data(), x.shape(0), x.shape(1));
    return y;
  }, py::arg("x"));

  m.def("softmax_cross_entropy_forward", [](const Array<T>& logits, const Array<T>& labels) {
    require_ndim(logits, "logits", 2);
    check_labels(labels, logits.shape(0), logits.shape(1));
    return softmax_cross_entropy_forward<T>(logits.data(), labels.data(), logits.shape(0), logits.shape(1));
  }, py::arg("logits"), py::arg("labels"));
  m.def("softmax_cross_entropy_backward", [](const Array<T>& logits, const Array<T>& labels) {
    require_ndim(logits, "logits", 2);
    check_labels(labels, logits.shape(0), logits.shape(1));
    Array<T> g = like(logits);
    softmax_cross_entropy_backward<T>(logits.data(), labels.data(), g.mutable_data(), logits.shape(0),
                                      logits.shape(1), T(1) / static_cast<T>(logits.shape(0)));
    return g;
  }, py::arg("logits"), py::arg("labels"), "Gradient of the mean loss with respect to the logits.");

  m.def("sgd_step", [](Array<T> p, const Array<T>& grad, T lr, T weight_decay) {
    check_same(p, "p", grad, "grad");
    sgd_step<T>(p.mutable_data(), grad.data(), p.size(), lr, weight_decay);
  }, py::arg("p").noconvert(), py::arg("grad").noconvert(), py::arg("lr"), py::arg("weight_decay") = T(0),
     "Updates p in place.");
}

}  // namespace

void bind_kernels(py::module_& m) {
  bind_typed<float>(m);
  bind_typed<double>(m);
}

}  // namespace entrena::bind
