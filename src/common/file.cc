#include "common/file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace fraiseql {

Result<std::string> ReadWholeFile(const std::string& path, size_t max_bytes) {
  std::error_code ignored;
  // An ifstream opens a directory happily and then reads nothing: say what it is instead.
  if (std::filesystem::is_directory(path, ignored)) return Error::InvalidArgument("it is a directory");
  std::ifstream file(path, std::ios::binary);
  if (!file) return Error::NotFound(std::strerror(errno));
  // In chunks rather than by the file's size: a pipe or /proc file has none.
  std::string text;
  char chunk[64 * 1024];
  while (file) {
    file.read(chunk, sizeof chunk);
    const auto got = static_cast<size_t>(file.gcount());
    if (got > max_bytes - text.size()) {
      return Error::InvalidArgument("it is larger than " + std::to_string(max_bytes) + " bytes")
          .WithDetail(std::string(kFileErrorDomain), std::string(kFileTooLarge));
    }
    text.append(chunk, got);
  }
  if (file.bad()) return Error::Unavailable(std::strerror(errno));
  return text;
}

}  // namespace fraiseql
