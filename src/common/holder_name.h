// The name a process writes into the rows it holds (lease holder, job claims): unique per
// process, readable by an operator. Thread-safety: a pure function of the host, pid and entropy.
#pragma once

#include <string>

namespace fraiseql {

// "<hostname>:<pid>:<8 random hex digits>", at most 255 bytes. Two processes must never share a
// name: each would count as the other's holder.
std::string UniqueHolderName();

}  // namespace fraiseql
