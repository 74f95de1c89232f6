// GEMM and dense-layer kernels, exposed for tests and benchmarks.
#include "common.hpp"

namespace entrena::bind {

namespace {

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

}

}  // namespace

void bind_dense_kernels(py::module_& k) {
  bind_typed<float>(k);
  bind_typed<double>(k);
}

}  // namespace entrena::bind
