// Lifecycles as data: the allowed transitions of a state enum written as one table, so that a
// component's states and what may follow what are readable in one place, and a transition that
// is not in the table is caught where it is attempted.
//
//     constexpr Transition<Phase> kPhases[] = {{Phase::kA, Phase::kB}, {Phase::kB, Phase::kC}};
//     if (!transition_allowed(kPhases, from, to)) { ...report a bug... }
//
// Thread safety: constexpr functions over constant tables.
#pragma once

#include <span>

namespace dora {

template <typename State>
struct Transition {
    State from;
    State to;
};

template <typename State>
[[nodiscard]] constexpr bool transition_allowed(std::span<const Transition<State>> table,
                                                State from, State to) {
    for (const auto& t : table) {
        if (t.from == from && t.to == to) {
            return true;
        }
    }
    return false;
}

}  // namespace dora
