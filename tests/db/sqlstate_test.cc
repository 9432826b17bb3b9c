// SQLSTATE classification: which failures of a batch write split the batch (its rows may be at
// fault) and which retry it whole (the database or the connection is).
#include "db/sqlstate.h"

#include <gtest/gtest.h>

namespace fraiseql {
namespace {

Error Server(std::string_view sqlstate) { return SqlStateError(sqlstate, "text"); }

TEST(AsBatchFailure, RowsThatMayBeAtFaultSplitTheBatch) {
  // Data, integrity, program limits (a jsonb over 256 MB, stack depth), a trigger's raise, a
  // statement timeout or out of memory that a smaller batch may avoid, an internal error.
  for (std::string_view sqlstate : {"22P02", "22P05", "23505", "23514", "54000", "54001", "P0001", "57014", "53200",
                                    "XX000", "2200N"}) {
    const Error error = AsBatchFailure(Server(sqlstate));
    EXPECT_EQ(error.code, ErrorCode::kInvalidArgument) << sqlstate;
    EXPECT_EQ(SqlStateOf(error), sqlstate);
    EXPECT_FALSE(FailsWhateverTheBatch(Server(sqlstate))) << sqlstate;
  }
}

TEST(AsBatchFailure, TheConnectionOrAConflictRetriesTheBatchWhole) {
  for (std::string_view sqlstate : {"08006", "53100", "53300", "57P01", "57P03", "55P03", "25006"}) {
    EXPECT_EQ(AsBatchFailure(Server(sqlstate)).code, ErrorCode::kUnavailable) << sqlstate;
  }
  EXPECT_EQ(AsBatchFailure(Server("40001")).code, ErrorCode::kAborted);
  EXPECT_EQ(AsBatchFailure(Server("40P01")).code, ErrorCode::kAborted);
  EXPECT_EQ(AsBatchFailure(Error::Unavailable("connection lost")).code, ErrorCode::kUnavailable);
}

TEST(AsBatchFailure, ADatabaseThatIsNotReadyWaitsForSomeoneToFixIt) {
  // A missing table, column or privilege; a bad login; a dropped database; an I/O error.
  for (std::string_view sqlstate : {"42P01", "42703", "42501", "28P01", "3D000", "58030", "55000", "F0000"}) {
    EXPECT_EQ(AsBatchFailure(Server(sqlstate)).code, ErrorCode::kFailedPrecondition) << sqlstate;
  }
}

TEST(AsBatchFailure, ClientSideFailuresKeepTheirCode) {
  EXPECT_EQ(AsBatchFailure(Error::InvalidArgument("job id is not a UUID")).code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(AsBatchFailure(Error::Internal("checkpoint invalid")).code, ErrorCode::kInternal);
}

}  // namespace
}  // namespace fraiseql
