#include "entrena/nn/zero_padding.hpp"

namespace entrena {

namespace {

const char* const kForms = "an integer >= 0, [rows, columns] or [[top, bottom], [left, right]]";

// The integer >= 0 at v, or the error for `padding`.
index_t pad_size(const Json& v, const Json& whole) {
  if (!v.is_integer()) throw TypeError(cat("padding: expected ", kForms, ", got ", value_text(whole)));
  if (v.as_int() < 0) throw ValueError(cat("padding: expected ", kForms, " with sizes >= 0, got ", whole.dump()));
  return static_cast<index_t>(v.as_int());
}

}  // namespace

template <class T>
ZeroPadding2D<T>::ZeroPadding2D(const Padding2D& padding) : pad_(padding) {
  for (index_t p : {pad_.top, pad_.bottom, pad_.left, pad_.right}) {
    check_integer("padding", p, 0);
    if (p > kMaxElements) throw ValueError(cat("padding: expected sizes of at most 2^40, got ", p));
  }
}

template <class T>
std::unique_ptr<Layer<T>> ZeroPadding2D<T>::from_config(Options& o) {
  const Json* v = o.get("padding");
  if (!v) return std::make_unique<ZeroPadding2D<T>>();
  if (v->is_integer()) return std::make_unique<ZeroPadding2D<T>>(pad_size(*v, *v));
  if (!v->is_array() || v->size() != 2)
    throw TypeError(cat("padding: expected ", kForms, ", got ", value_text(*v)));
  if (!v->at(0).is_array() && !v->at(1).is_array())
    return std::make_unique<ZeroPadding2D<T>>(pad_size(v->at(0), *v), pad_size(v->at(1), *v));
  for (std::size_t i = 0; i < 2; ++i)
    if (!v->at(i).is_array() || v->at(i).size() != 2)
      throw TypeError(cat("padding: expected ", kForms, ", got ", v->dump()));
  return std::make_unique<ZeroPadding2D<T>>(Padding2D{pad_size(v->at(0).at(0), *v), pad_size(v->at(0).at(1), *v),
                                                      pad_size(v->at(1).at(0), *v), pad_size(v->at(1).at(1), *v)});
}

template <class T>
Json ZeroPadding2D<T>::args() const {
  Json rows = Json::array(), cols = Json::array();
  rows.push_back(Json(static_cast<long long>(pad_.top)));
  rows.push_back(Json(static_cast<long long>(pad_.bottom)));
  cols.push_back(Json(static_cast<long long>(pad_.left)));
  cols.push_back(Json(static_cast<long long>(pad_.right)));
  Json both = Json::array();
  both.push_back(rows);
  both.push_back(cols);
  return Json::object({{"padding", both}});
}

template <class T>
Shape ZeroPadding2D<T>::build(const Shape& input_shape) {
  if (input_shape.size() != 3)
    throw ValueError(cat("ZeroPadding2D: expected inputs of shape (n, channels, height, width), got per-sample shape ",
                         shape_str(input_shape)));
  this->in_shape_ = input_shape;
  this->out_shape_ = {input_shape[0], pad_.top + input_shape[1] + pad_.bottom,
                      pad_.left + input_shape[2] + pad_.right};
  return this->out_shape_;
}

template <class T>
void ZeroPadding2D<T>::forward(const T* x, T* y, index_t n, bool, Rng&) {
  zero_padding2d_forward(x, y, n * this->in_shape_[0], this->in_shape_[1], this->in_shape_[2], pad_);
}

template <class T>
void ZeroPadding2D<T>::backward(const T*, const T*, const T* dy, T* dx, index_t n) {
  if (dx) zero_padding2d_backward(dy, dx, n * this->in_shape_[0], this->in_shape_[1], this->in_shape_[2], pad_);
}

template class ZeroPadding2D<float>;
template class ZeroPadding2D<double>;

}  // namespace entrena
