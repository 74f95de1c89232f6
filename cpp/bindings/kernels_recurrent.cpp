// Recurrent kernels, exposed for tests and benchmarks.
#include <optional>

#include "common.hpp"

namespace entrena::bind {

namespace {

RnnCell cell_from_name(const std::string& name) {
  if (name == "tanh") return RnnCell::Tanh;
  if (name == "relu") return RnnCell::ReLU;
  if (name == "lstm") return RnnCell::LSTM;
  if (name == "gru") return RnnCell::GRU;
  throw ValueError(cat("cell: expected 'tanh', 'relu', 'lstm' or 'gru', got '", name, "'"));
}

template <class T>
const T* optional_data(const std::optional<Array<T>>& a, const char* name, const Shape& want) {
  if (!a) return nullptr;
  if (shape_of<T>(*a) != want)
    throw ValueError(cat(name, ": expected shape ", shape_str(want), ", got ", shape_str(shape_of<T>(*a))));
  return a->data();
}

template <class T>
void bind_typed(py::module_& m) {
  m.def("rnn", [](const std::string& cell, const Array<T>& x, const Array<T>& W_ih, const Array<T>& W_hh,
                  std::optional<Array<T>> b_ih, std::optional<Array<T>> b_hh, std::optional<Array<T>> h0,
                  std::optional<Array<T>> c0, std::optional<py::array_t<std::uint8_t, py::array::c_style>> mask,
                  bool reverse, std::optional<Array<T>> dy, std::optional<Array<T>> dh_last,
                  std::optional<Array<T>> dc_last) {
    require_ndim(x, "x", 3);
    RnnDims d;
    d.cell = cell_from_name(cell);
    d.n = x.shape(0);
    d.steps = x.shape(1);
    d.features = x.shape(2);
    d.reverse = reverse;
    require_ndim(W_hh, "W_hh", 2);
    d.units = W_hh.shape(0);
    const index_t GH = rnn_gates(d.cell) * d.units;
    if (shape_of<T>(W_ih) != Shape{d.features, GH})
      throw ValueError(cat("W_ih: expected shape ", shape_str({d.features, GH}), ", got ", shape_str(shape_of<T>(W_ih))));
    if (shape_of<T>(W_hh) != Shape{d.units, GH})
      throw ValueError(cat("W_hh: expected shape ", shape_str({d.units, GH}), ", got ", shape_str(shape_of<T>(W_hh))));
    const bool lstm = d.cell == RnnCell::LSTM;
    const T* bi = optional_data(b_ih, "b_ih", {GH});
    const T* bh = optional_data(b_hh, "b_hh", {GH});
    const T* h0p = optional_data(h0, "h0", {d.n, d.units});
    const T* c0p = optional_data(c0, "c0", {d.n, d.units});
    const std::uint8_t* mp = nullptr;
    if (mask) {
      if (mask->ndim() != 2 || mask->shape(0) != d.n || mask->shape(1) != d.steps)
        throw ValueError(cat("mask: expected shape ", shape_str({d.n, d.steps}), ", got ", shape_str(shape_of<std::uint8_t>(*mask))));
      mp = mask->data();
    }
    const T* dyp = optional_data(dy, "dy", {d.n, d.steps, d.units});
    const T* dhp = optional_data(dh_last, "dh_last", {d.n, d.units});
    const T* dcp = optional_data(dc_last, "dc_last", {d.n, d.units});
    Array<T> y({d.n, d.steps, d.units}), h({d.n, d.units}), c({d.n, d.units});
    Array<T> dx({d.n, d.steps, d.features}), dWi({d.features, GH}), dWh({d.units, GH}), dbi({GH}), dbh({GH});
    Array<T> dh0({d.n, d.units}), dc0({d.n, d.units});
    for (Array<T>* a : {&dWi, &dWh, &dbi, &dbh, &c, &dc0}) std::fill(a->mutable_data(), a->mutable_data() + a->size(), T(0));
    {
      py::gil_scoped_release nogil;
      AlignedBuffer<T> ws(rnn_workspace_size(d));
      rnn_forward<T>(d, x.data(), W_ih.data(), W_hh.data(), bi, bh, h0p, c0p, mp, ws.data(), y.mutable_data(),
                     h.mutable_data(), lstm ? c.mutable_data() : nullptr);
      rnn_backward<T>(d, W_ih.data(), W_hh.data(), mp, ws.data(), dyp, dhp, dcp, dWi.mutable_data(),
                      dWh.mutable_data(), bi ? dbi.mutable_data() : nullptr, bh ? dbh.mutable_data() : nullptr,
                      dx.mutable_data(), dh0.mutable_data(), lstm ? dc0.mutable_data() : nullptr);
    }
    py::dict out;
    out["y"] = y;
    out["h"] = h;
    out["c"] = c;
    out["dx"] = dx;
    out["dW_ih"] = dWi;
    out["dW_hh"] = dWh;
    out["db_ih"] = dbi;
    out["db_hh"] = dbh;
    out["dh0"] = dh0;
    out["dc0"] = dc0;
    return out;
  }, py::arg("cell"), py::arg("x"), py::arg("W_ih"), py::arg("W_hh"), py::arg("b_ih") = py::none(),
     py::arg("b_hh") = py::none(), py::arg("h0") = py::none(), py::arg("c0") = py::none(),
     py::arg("mask") = py::none(), py::arg("reverse") = false, py::arg("dy") = py::none(),
     py::arg("dh_last") = py::none(), py::arg("dc_last") = py::none(),
     "Forward and backward of a recurrent layer over x (n, steps, F): cell 'tanh', 'relu',\n"
     "'lstm' or 'gru'; returns a dict with y (n, steps, H), h and c (n, H) (c zeros but for\n"
     "LSTM), and the gradients dx, dW_ih, dW_hh, db_ih, db_hh, dh0, dc0 for the output\n"
     "gradients dy, dh_last, dc_last (None: zero).");
}

}  // namespace

void bind_recurrent_kernels(py::module_& k) {
  bind_typed<float>(k);
  bind_typed<double>(k);
}

}  // namespace entrena::bind
