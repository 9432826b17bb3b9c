// The families the product exports are exactly those docs/metrics.md lists: a family nobody
// updates is not declared, and a declared one is documented with who updates it.
#include "metrics/families.h"

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "metrics/prometheus_text.h"

namespace fraiseql::metrics {
namespace {

constexpr std::string_view kPrefix = "fraiseql_observer_";

// The backticked names in the first cell of each row of the families table.
std::set<std::string> DocumentedFamilies(const std::string& path) {
  std::ifstream file(path);
  EXPECT_TRUE(file) << "cannot read " << path;
  std::set<std::string> names;
  std::string line;
  while (std::getline(file, line)) {
    if (!line.starts_with("| `" + std::string(kPrefix))) continue;
    const std::string first_cell = line.substr(1, line.find('|', 1) - 1);
    for (size_t open = first_cell.find('`'); open != std::string::npos;) {
      const size_t close = first_cell.find('`', open + 1);
      if (close == std::string::npos) break;
      names.insert(first_cell.substr(open + 1, close - open - 1));
      open = first_cell.find('`', close + 1);
    }
  }
  return names;
}

// The families in the rendered default registry ("# TYPE name type" lines).
std::set<std::string> ExportedFamilies() {
  std::istringstream text(RenderPrometheusText(DefaultRegistry()));
  std::set<std::string> names;
  std::string line;
  while (std::getline(text, line)) {
    if (!line.starts_with("# TYPE ")) continue;
    names.insert(line.substr(7, line.find(' ', 7) - 7));
  }
  return names;
}

TEST(FamiliesTest, ExportedFamiliesAreExactlyTheDocumentedOnes) {
  DeclareAllFamilies();
  const std::set<std::string> documented = DocumentedFamilies(std::string(FRAISEQL_SOURCE_DIR) + "/docs/metrics.md");
  ASSERT_GE(documented.size(), 20u) << "the table of docs/metrics.md was not found or changed shape";
  for (const std::string& name : documented) EXPECT_TRUE(name.starts_with(kPrefix)) << name;
  EXPECT_EQ(ExportedFamilies(), documented);
}

TEST(FamiliesTest, NoFamilyForFeaturesThatDoNotExistYet) {
  DeclareAllFamilies();
  const std::set<std::string> exported = ExportedFamilies();
  for (const char* name : {"fraiseql_observer_cache_hits_total", "fraiseql_observer_cache_misses_total",
                           "fraiseql_observer_cache_evictions_total", "fraiseql_observer_dedup_detected_total",
                           "fraiseql_observer_dedup_processing_skipped_total", "fraiseql_observer_dlq_overflow_total",
                           "fraiseql_observer_config_reloads_total"}) {
    EXPECT_EQ(exported.count(name), 0u) << name;
  }
}

}  // namespace
}  // namespace fraiseql::metrics
