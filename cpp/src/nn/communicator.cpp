#include "entrena/nn/communicator.hpp"

#include <algorithm>
#include <cstring>

namespace entrena {

// Block r of the buffer goes to rank r, which adds the P copies of it in
// rank order; the sums come back with all_gather. Blocks are ceil(n / P)
// values (the last ones padded with zeros).
template <class T>
void Communicator::allreduce_sum(T* buf, index_t n) {
  const int P = size();
  if (P <= 1 || n <= 0) return;
  const index_t block = (n + P - 1) / P;
  const std::size_t bytes = static_cast<std::size_t>(block) * sizeof(T);
  send_.resize(bytes * static_cast<std::size_t>(P));
  recv_.resize(bytes * static_cast<std::size_t>(P));
  T* s = reinterpret_cast<T*>(send_.data());
  T* r = reinterpret_cast<T*>(recv_.data());
  std::memcpy(s, buf, static_cast<std::size_t>(n) * sizeof(T));
  std::fill(s + n, s + block * P, T(0));
  all_to_all(s, r, bytes);
  // r: block `rank` of every rank, rank after rank.
  // Rank order for every element: ((r0 + r1) + r2) + ... (the loops run
  // over elements inside, so they vectorize).
  T* sum = s;  // reuse: the first block of the send buffer
  std::memcpy(sum, r, bytes);
  for (int q = 1; q < P; ++q) {
    const T* rq = r + static_cast<index_t>(q) * block;
    for (index_t i = 0; i < block; ++i) sum[i] += rq[i];
  }
  all_gather(sum, r, bytes);
  std::memcpy(buf, r, static_cast<std::size_t>(n) * sizeof(T));
}

template void Communicator::allreduce_sum<float>(float*, index_t);
template void Communicator::allreduce_sum<double>(double*, index_t);

void SingleProcess::all_to_all(const void* send, void* recv, std::size_t bytes) { std::memcpy(recv, send, bytes); }
void SingleProcess::all_gather(const void* send, void* recv, std::size_t bytes) { std::memcpy(recv, send, bytes); }

}  // namespace entrena
