#include "common/file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fraiseql {

Result<std::string> ReadWholeFile(const std::string& path) {
  std::error_code ignored;
  // An ifstream opens a directory happily and then reads nothing: say what it is instead.
  if (std::filesystem::is_directory(path, ignored)) return Error::InvalidArgument("it is a directory");
  std::ifstream file(path, std::ios::binary);
  if (!file) return Error::NotFound(std::strerror(errno));
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) return Error::Unavailable(std::strerror(errno));
  return text.str();
}

}  // namespace fraiseql
