// GEMM and dense-layer kernels, exposed for tests and benchmarks.
#include "common.hpp"

namespace entrena::bind {

namespace {

// A 2-D array of any row stride whose rows are contiguous: the layout GEMM
// takes with a leading dimension.
template <class T>
using Strided = py::array_t<T, 0>;

// The leading dimension (row stride in elements) of a, after checking that
// a is 2-D with contiguous rows.
template <class T>
index_t leading_dim(const Strided<T>& a, const char* name) {
  if (a.ndim() != 2) throw ValueError(cat(name, ": expected a 2-D array, got ", a.ndim(), "-D"));
  const index_t rows = a.shape(0), cols = a.shape(1), sz = sizeof(T);
  if (rows == 0 || cols == 0) return cols > 1 ? cols : 1;  // empty: strides are arbitrary
  if (cols > 1 && a.strides(1) != sz)
    throw ValueError(cat(name, ": expected contiguous rows (column stride ", sz,
                         " bytes), got a column stride of ", a.strides(1), " bytes"));
  const index_t min_ld = cols > 1 ? cols : 1;
  if (rows <= 1) return min_ld;
  if (a.strides(0) % sz != 0 || a.strides(0) / sz < min_ld)
    throw ValueError(cat(name, ": expected a row stride of at least ", min_ld * sz,
                         " bytes (a multiple of ", sz, "), got ", a.strides(0)));
  return a.strides(0) / sz;
}

// alpha * op(A) @ op(B) + beta * C (see the "gemm" docstring below) in T.
template <class T>
py::array gemm_typed(const Strided<T>& A, const Strided<T>& B, bool trans_a, bool trans_b,
                     T alpha, T beta, const py::object& C_obj, const py::object& out_obj) {
  const index_t lda = leading_dim(A, "A"), ldb = leading_dim(B, "B");
  const index_t M = trans_a ? A.shape(1) : A.shape(0), K = trans_a ? A.shape(0) : A.shape(1);
  const index_t Kb = trans_b ? B.shape(1) : B.shape(0), N = trans_b ? B.shape(0) : B.shape(1);
  if (K != Kb)
    throw ValueError(cat("B: expected op(B) with ", K, " rows (the columns of op(A)), got ", Kb));
  auto check_mn = [&](const Strided<T>& a, const char* name) {
    if (a.shape(0) != M || a.shape(1) != N)
      throw ValueError(cat(name, ": expected shape (", M, ", ", N, "), got (", a.shape(0), ", ",
                           a.shape(1), ")"));
  };
  auto typed = [](const py::object& o, const char* name) {
    auto a = Strided<T>::ensure(o);
    if (!a) {
      PyErr_Clear();
      throw TypeError(cat(name, ": expected a ", dtype_name<T>(), " array (the dtype of A and B), got ",
                          std::string(py::str(py::type::of(o)))));
    }
    return a;
  };
  Strided<T> res;
  index_t ldc = N > 1 ? N : 1;
  if (!out_obj.is_none()) {
    // In place: out = alpha * op(A) @ op(B) + beta * out.
    if (!C_obj.is_none())
      throw ValueError("C: must be None when out is given (out is C, updated in place)");
    if (!py::isinstance<Strided<T>>(out_obj))
      throw TypeError(cat("out: expected a ", dtype_name<T>(), " array (the dtype of A and B), got ",
                          std::string(py::str(out_obj.attr("dtype")))));
    res = py::reinterpret_borrow<Strided<T>>(out_obj);
    ldc = leading_dim(res, "out");
    check_mn(res, "out");
    if (!res.writeable()) throw ValueError("out: expected a writable array, got a read-only one");
  } else {
    res = Strided<T>({M, N});
    if (!C_obj.is_none()) {
      Strided<T> C = typed(C_obj, "C");
      leading_dim(C, "C");
      check_mn(C, "C");
      auto src = C.template unchecked<2>();
      auto dst = res.template mutable_unchecked<2>();
      for (index_t i = 0; i < M; ++i)
        for (index_t j = 0; j < N; ++j) dst(i, j) = src(i, j);
    } else if (beta != T(0)) {
      throw ValueError(cat("C: required when beta != 0 (beta=", beta, "), got None"));
    }
  }
  T* c = res.mutable_data();
  {
    py::gil_scoped_release nogil;
    gemm<T>(trans_a ? Trans::T : Trans::N, trans_b ? Trans::T : Trans::N, M, N, K, alpha, A.data(),
            lda, B.data(), ldb, beta, c, ldc);
  }
  return std::move(res);
}

template <class T>
void bind_typed(py::module_& m) {
  m.def("gemm_fused", [](const Array<T>& A, const Array<T>& B, std::optional<Array<T>> bias,
                         bool bias_rows, bool relu, bool trans_a, bool trans_b, T alpha, T beta,
                         std::optional<Array<T>> C, int max_threads, bool bf16) {
    require_ndim(A, "A", 2);
    require_ndim(B, "B", 2);
    const index_t M = trans_a ? A.shape(1) : A.shape(0), K = trans_a ? A.shape(0) : A.shape(1);
    const index_t Kb = trans_b ? B.shape(1) : B.shape(0), N = trans_b ? B.shape(0) : B.shape(1);
    if (K != Kb)
      throw ValueError(cat("B: expected op(B) with ", K, " rows (the columns of op(A)), got ", Kb));
    const index_t nb = bias_rows ? M : N;
    if (bias && (bias->ndim() != 1 || bias->shape(0) != nb))
      throw ValueError(cat("bias: expected shape (", nb, ",) (", bias_rows ? "one per row" : "one per column",
                           " of C), got ", shape_str(shape_of<T>(*bias))));
    if (max_threads < 0) throw ValueError(cat("max_threads: expected an integer >= 0, got ", max_threads));
    Array<T> out({M, N});
    if (C) {
      if (C->ndim() != 2 || C->shape(0) != M || C->shape(1) != N)
        throw ValueError(cat("C: expected shape (", M, ", ", N, "), got ", shape_str(shape_of<T>(*C))));
      std::memcpy(out.mutable_data(), C->data(), sizeof(T) * M * N);
    } else if (beta != T(0)) {
      throw ValueError(cat("C: required when beta != 0 (beta=", beta, "), got None"));
    }
    auto ld = [](index_t cols) { return cols > 1 ? cols : index_t(1); };
    {
      py::gil_scoped_release nogil;
      const Bf16Scope precision(bf16);
      gemm_fused<T>(trans_a ? Trans::T : Trans::N, trans_b ? Trans::T : Trans::N, M, N, K, alpha,
                    A.data(), ld(A.shape(1)), B.data(), ld(B.shape(1)), beta, out.mutable_data(), ld(N),
                    bias ? bias->data() : nullptr, relu, bias_rows ? BiasAxis::Rows : BiasAxis::Columns,
                    max_threads);
    }
    return out;
  }, py::arg("A"), py::arg("B"), py::arg("bias") = py::none(), py::arg("bias_rows") = false,
     py::arg("relu") = false, py::arg("trans_a") = false, py::arg("trans_b") = false,
     py::arg("alpha") = 1.0, py::arg("beta") = 0.0, py::arg("C") = py::none(), py::arg("max_threads") = 0,
     py::arg("bf16") = false,
     "act(alpha * op(A) @ op(B) + beta * C + bias) as a new array: bias (N,) added to every row,\n"
     "or (M,) added to every column when bias_rows; act = max(., 0) when relu. At most\n"
     "max_threads threads (0: as many as the work calls for). bf16: bfloat16 products with float32\n"
     "accumulation (float32 only; see Bf16Scope).");

  m.def("dense_forward", [](const Array<T>& x, const Array<T>& W, std::optional<Array<T>> b,
                            bool relu) {
    require_ndim(x, "x", 2);
    require_ndim(W, "W", 2);
    const index_t n = x.shape(0), in = x.shape(1), out = W.shape(1);
    if (W.shape(0) != in)
      throw ValueError(cat("W: expected ", in, " rows (the columns of x), got ", W.shape(0)));
    if (b && (b->ndim() != 1 || b->shape(0) != out))
      throw ValueError(cat("b: expected shape (", out, ",), got ", shape_str(shape_of<T>(*b))));
    Array<T> y({n, out});
    {
      py::gil_scoped_release nogil;
      dense_forward<T>(x.data(), W.data(), b ? b->data() : nullptr, y.mutable_data(), n, in, out,
                       relu);
    }
    return y;
  }, py::arg("x"), py::arg("W"), py::arg("b") = py::none(), py::arg("relu") = false,
     "y = x @ W + b, then max(y, 0) when relu.");

  m.def("dense_backward", [](const Array<T>& x, const Array<T>& W, const Array<T>& dy) {
    require_ndim(x, "x", 2);
    require_ndim(W, "W", 2);
    require_ndim(dy, "dy", 2);
    const index_t n = x.shape(0), in = x.shape(1), out = W.shape(1);
    if (W.shape(0) != in)
      throw ValueError(cat("W: expected ", in, " rows (the columns of x), got ", W.shape(0)));
    if (dy.shape(0) != n || dy.shape(1) != out)
      throw ValueError(cat("dy: expected shape (", n, ", ", out, "), got ", shape_str(shape_of<T>(dy))));
    Array<T> dx({n, in}), dW({in, out}), db({out});
    std::memset(dW.mutable_data(), 0, sizeof(T) * in * out);
    std::memset(db.mutable_data(), 0, sizeof(T) * out);
    {
      py::gil_scoped_release nogil;
      dense_backward<T>(x.data(), W.data(), dy.data(), dW.mutable_data(), db.mutable_data(),
                        dx.mutable_data(), n, in, out);
    }
    return py::make_tuple(dx, dW, db);
  }, py::arg("x"), py::arg("W"), py::arg("dy"), "Returns (dx, dW, db).");

}

}  // namespace

void bind_dense_kernels(py::module_& k) {
  // One entry point for both dtypes (cheaper to call than two overloads):
  // float32 when A and B are float32, else float64.
  k.def("gemm",
        [](const py::array& A, const py::array& B, bool trans_a, bool trans_b, double alpha,
           double beta, const py::object& C, const py::object& out) -> py::array {
          if (py::isinstance<Strided<float>>(A) && py::isinstance<Strided<float>>(B))
            return gemm_typed<float>(py::reinterpret_borrow<Strided<float>>(A),
                                     py::reinterpret_borrow<Strided<float>>(B), trans_a, trans_b,
                                     static_cast<float>(alpha), static_cast<float>(beta), C, out);
          auto A64 = Strided<double>::ensure(A), B64 = Strided<double>::ensure(B);
          if (!A64 || !B64) {
            PyErr_Clear();
            throw TypeError(cat(!A64 ? "A" : "B", ": expected a float32 or float64 array, got dtype ",
                                std::string(py::str((!A64 ? A : B).dtype()))));
          }
          return gemm_typed<double>(A64, B64, trans_a, trans_b, alpha, beta, C, out);
        },
        py::arg("A"), py::arg("B"), py::arg("trans_a") = false, py::arg("trans_b") = false,
        py::arg("alpha") = 1.0, py::arg("beta") = 0.0, py::arg("C") = py::none(),
        py::arg("out") = py::none(),
        "alpha * op(A) @ op(B) + beta * C as a new array (float32 when A and B are float32,\n"
        "else float64); with out=, computes out = alpha * op(A) @ op(B) + beta * out in place\n"
        "and returns out. A, B, C and out may be row-strided 2-D views (each row contiguous),\n"
        "e.g. big[:, :k].");
  bind_typed<float>(k);
  bind_typed<double>(k);
  k.def("bf16_round", [](const Array<float>& x) {
    Array<float> y = like(x);
    const float* src = x.data();
    float* dst = y.mutable_data();
    for (py::ssize_t i = 0; i < x.size(); ++i) dst[i] = round_to_bf16(src[i]);
    return y;
  }, py::arg("x"), "float32 values rounded to bfloat16 (ties to even), as float32: the GEMM packing's conversion.");
  k.def("fma_peak_gflops", [](double seconds, const std::string& isa, int threads) {
    const Isa which = isa.empty() ? best_supported_isa() : isa_from_name(isa);
    py::gil_scoped_release nogil;
    return fma_peak_gflops(seconds, which, threads);
  }, py::arg("seconds") = 0.2, py::arg("isa") = "", py::arg("threads") = 1,
     "float32 FMA throughput in GFLOP/s: `threads` threads run independent chains of vector\n"
     "FMAs of `isa` (default: the widest this CPU has) for about `seconds`. For benchmarks.");
}

}  // namespace entrena::bind
