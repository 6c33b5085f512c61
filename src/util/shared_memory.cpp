#include "util/shared_memory.h"

#include <sys/mman.h>

#include <utility>

namespace phoneverify::util {

Result<SharedMemory> SharedMemory::Create(size_t bytes) {
  if (bytes == 0) return Error::Internal();
  void* data = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED) return Error::Internal();
  SharedMemory memory;
  memory.data_ = data;
  memory.size_ = bytes;
  return memory;
}

SharedMemory::~SharedMemory() { Unmap(); }

SharedMemory::SharedMemory(SharedMemory&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SharedMemory& SharedMemory::operator=(SharedMemory&& other) noexcept {
  if (this != &other) {
    Unmap();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void SharedMemory::Unmap() {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace phoneverify::util
