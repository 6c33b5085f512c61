// An anonymous MAP_SHARED mapping: created by a process before it forks, the same bytes in
// every child afterwards (the FastCGI master shares the database "down latch" and the
// metrics counters with its workers this way). Zero-filled at creation.
//
// Only trivially copyable, lock-free data belongs in it (std::atomic<int64_t> and the
// like): processes may die at any instruction, so nothing may depend on a lock.
// Move-only; unmapped by the destructor of the owner (children inherit the mapping and
// simply exit with it).
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>

#include "util/status.h"

namespace phoneverify::util {

class SharedMemory {
 public:
  // Error::Internal() when mmap fails.
  static Result<SharedMemory> Create(size_t bytes);

  SharedMemory() = default;
  ~SharedMemory();
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  SharedMemory(SharedMemory&& other) noexcept;
  SharedMemory& operator=(SharedMemory&& other) noexcept;

  void* data() const { return data_; }
  size_t size() const { return size_; }

  // Constructs a T at the start of the mapping (size must fit; T is built in place).
  template <typename T>
  T* Construct() {
    static_assert(std::is_standard_layout_v<T>, "shared state must be plain data");
    if (data_ == nullptr || size_ < sizeof(T)) return nullptr;
    return new (data_) T();
  }

 private:
  void Unmap();
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace phoneverify::util
