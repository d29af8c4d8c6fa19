/* dora's C operator API (dora 0.3.x `apis/c/operator/operator_api.h`): the three functions a
 * shared-library operator defines. A node with
 *
 *     operators:
 *       - id: my_op
 *         shared-library: build/my_op      # build/libmy_op.so
 *         inputs: {tick: dora/timer/millis/100}
 *         outputs: [out]
 *
 * runs as one `dora-runtime` process that dlopen()s each operator, calls dora_init_operator
 * once, dora_on_event for each of its events, and dora_drop_operator at the end:
 *
 *     #include <dora/operator_api.h>
 *
 *     DoraInitResult_t dora_init_operator(void) {
 *         DoraInitResult_t r = {.operator_context = NULL};
 *         return r;
 *     }
 *     DoraResult_t dora_drop_operator(void* ctx) { DoraResult_t r = {0}; return r; }
 *     OnEventResult_t dora_on_event(RawEvent_t* event, const SendOutput_t* send, void* ctx) {
 *         OnEventResult_t r = {.status = DORA_STATUS_CONTINUE};
 *         if (event->input != NULL) {
 *             Vec_uint8_t data = dora_read_data(event->input);
 *             r.result = dora_send_operator_output(send, "out", data.ptr, data.len);
 *             dora_free_data(data);
 *         }
 *         return r;
 *     }
 *
 * Build the operator as a shared library linked against nothing of dora's: the dora_* functions
 * of operator_types.h are defined by the runtime process and bound when it loads the library.
 * CMake: `find_package(dora)`, `add_library(my_op MODULE my_op.c)`,
 * `target_link_libraries(my_op PRIVATE dora::operator_api)` (headers only); by hand:
 * `cc -shared -fPIC -I<prefix>/include my_op.c -o build/libmy_op.so`.
 *
 * A non-NULL error in a returned DoraResult_t fails the node; its message and the operator's
 * id go to the node's log. See operator_types.h for who frees what.
 *
 * Thread safety: the runtime calls an operator's three functions from one thread, one call at a
 * time; different operators of one node are called from that same thread.
 */
#ifndef DORA_OPERATOR_API_H
#define DORA_OPERATOR_API_H

#include <stddef.h>

#include "operator_types.h"

#if defined(__GNUC__) || defined(__clang__)
#define DORA_OPERATOR_EXPORT __attribute__((visibility("default")))
#else
#define DORA_OPERATOR_EXPORT
#endif
/* dora's header calls the same attribute EXPORT; operators written for dora may use it. */
#ifndef EXPORT
#define EXPORT DORA_OPERATOR_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Creates the operator; its `operator_context` comes back in every later call. An init that
 * returns an error is never dropped: free what it allocated before returning. */
DORA_OPERATOR_EXPORT DoraInitResult_t dora_init_operator(void);

/* Destroys the operator (called once, also when the node fails after a successful init). */
DORA_OPERATOR_EXPORT DoraResult_t dora_drop_operator(void* operator_context);

/* Handles one event; outputs go through `send_output` while this call runs. */
DORA_OPERATOR_EXPORT OnEventResult_t dora_on_event(RawEvent_t* event,
                                                   const SendOutput_t* send_output,
                                                   void* operator_context);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DORA_OPERATOR_API_H */
