#include "entrena/nn/reshape.hpp"


namespace entrena {

namespace {

std::string target_text(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += cat(i ? ", " : "", s[i]);
  return out + "]";
}

}  // namespace

template <class T>
Reshape<T>::Reshape(Shape target_shape) : target_(std::move(target_shape)) {
  if (target_.empty()) throw ValueError("target_shape: expected at least one size, got []");
  int unknown = 0;
  for (index_t d : target_) {
    if (d < 1 && d != -1)
      throw ValueError(cat("target_shape: expected sizes >= 1 (one of them may be -1), got ", target_text(target_)));
    unknown += d == -1;
  }
  if (unknown > 1)
    throw ValueError(cat("target_shape: expected at most one -1, got ", target_text(target_)));
}

template <class T>
std::unique_ptr<Layer<T>> Reshape<T>::from_config(Options& o) {
  const Json* v = o.get("target_shape");
  if (!v) throw ValueError("target_shape: missing (the per-sample shape of the output)");
  Shape target;
  if (v->is_integer()) {
    target.push_back(static_cast<index_t>(v->as_int()));
  } else if (v->is_array()) {
    for (std::size_t i = 0; i < v->size(); ++i) {
      if (!v->at(i).is_integer())
        throw TypeError(cat("target_shape[", i, "]: expected an integer, got ", value_text(v->at(i))));
      target.push_back(static_cast<index_t>(v->at(i).as_int()));
    }
  } else {
    throw TypeError(cat("target_shape: expected an array of sizes, got ", value_text(*v)));
  }
  return std::make_unique<Reshape<T>>(std::move(target));
}

template <class T>
Json Reshape<T>::args() const {
  Json a = Json::array();
  for (index_t d : target_) a.push_back(Json(static_cast<long long>(d)));
  return Json::object({{"target_shape", a}});
}

template <class T>
Shape Reshape<T>::build(const Shape& input_shape) {
  const index_t size = shape_size(input_shape);
  index_t known = 1;
  for (index_t d : target_)
    if (d != -1) known = checked_mul(known, d, "target_shape");
  Shape out = target_;
  for (index_t& d : out)
    if (d == -1) d = size % known == 0 ? size / known : 0;
  if (shape_size(out) != size || size == 0)
    throw ValueError(cat("Reshape: cannot reshape per-sample shape ", shape_str(input_shape), " (", size,
                         " elements) into target_shape ", target_text(target_)));
  this->in_shape_ = input_shape;
  this->out_shape_ = out;
  return out;
}

template class Reshape<float>;
template class Reshape<double>;

}  // namespace entrena
