// Error propagation for Result-returning code in the zenoh module.
//
// Thread safety: macros only.
#pragma once

#include <utility>

#include "core/error.hpp"

// Propagates the error of a Result: `DORA_ZTRY(v, r.zint("sn"));` declares `v` on success.
#define DORA_ZTRY(var, expr)                                   \
    auto var##_result_ = (expr);                               \
    if (!var##_result_) {                                      \
        return ::dora::fail(std::move(var##_result_.error())); \
    }                                                          \
    auto& var = *var##_result_
#define DORA_ZCHECK(expr)                                          \
    do {                                                           \
        auto check_result_ = (expr);                               \
        if (!check_result_) {                                      \
            return ::dora::fail(std::move(check_result_.error())); \
        }                                                          \
    } while (false)
