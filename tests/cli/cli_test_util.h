// Runs the CLI in-process and captures what a user would see.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/cli.h"

namespace fraiseql::testing {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline CliRun RunCli(const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"fraiseql-observer"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out, err;
  CliRun run;
  run.exit_code = cli::RunCli(static_cast<int>(argv.size()), argv.data(), out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

// Writes `content` to a fresh file in the test's temporary directory and returns its path.
inline std::string WriteTempFile(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/" +
                           ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" + name;
  std::ofstream(path) << content;
  return path;
}

inline std::string ExamplePath(const std::string& relative) {
  return std::string(FRAISEQL_SOURCE_DIR) + "/examples/" + relative;
}

}  // namespace fraiseql::testing
