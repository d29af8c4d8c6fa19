/* dora's C node API: the functions and types of dora's `apis/c/node/node_api.h` (0.3.x and 1.x),
 * over dora-cpp's node library, so C nodes written for dora compile and run unchanged.
 *
 *     void *ctx = init_dora_context_from_env();
 *     void *event;
 *     while ((event = dora_next_event(ctx)) != NULL) {
 *         if (read_dora_event_type(event) == DoraEventType_Input) {
 *             char *data; size_t len;
 *             read_dora_input_data(event, &data, &len);
 *             dora_send_output(ctx, "out", 3, data, len);
 *         }
 *         free_dora_event(event);
 *     }
 *     free_dora_context(ctx);
 *
 * Link with libdora-node (CMake: `find_package(dora)` and `dora::node`; by hand:
 * `-ldora-node`, or dora's own name `-ldora_node_api_c`, which the installation provides as a
 * link to the same library).
 *
 * Behaviour, as in dora:
 *   - init_dora_context_from_env returns NULL when the process was not started by a dora daemon
 *     (or the node cannot join); the reason is printed on standard error, which the daemon writes
 *     to the node's log.
 *   - dora_next_event blocks until the next event and returns NULL once the event stream has
 *     ended (after STOP, or when every input is closed). Each event must be given back with
 *     free_dora_event; the pointers read from it stay valid until then, also after
 *     free_dora_context.
 *   - read_dora_input_id and read_dora_input_data give pointers into the event (not
 *     NUL-terminated) and (NULL, 0) for events that are not inputs. The data is the message's
 *     bytes for byte arrays (UInt8, what dora_send_output sends) and text (Utf8), the values'
 *     bytes for other primitive arrays (dora stops the node there instead), and (NULL, 0) for
 *     timer ticks and empty messages. The data is shared memory mapped read-only: do not write
 *     to it.
 *   - read_dora_input_timestamp is dora's hybrid logical clock time of sending in NTP64 form
 *     (seconds since the UNIX epoch in the upper 32 bits, the fraction of a second in the lower
 *     32), 0 for events that are not inputs.
 *   - dora_send_output sends `data_len` bytes as a byte array on output `id`; it returns 0, or
 *     -1 after printing why on standard error (an output the dataflow does not declare for
 *     this node, NULL data with a non-zero length, outputs already closed).
 *
 * Thread safety: one thread at a time uses a context and the events it returned; an event may be
 * freed on any thread.
 */
#ifndef DORA_NODE_API_H
#define DORA_NODE_API_H

#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
#define DORA_C_API __attribute__((visibility("default")))
#else
#define DORA_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

DORA_C_API void* init_dora_context_from_env(void);
/* A dynamic node (`path: dynamic`) started by hand joins as node `node_id` through the daemon on
 * this machine (DORA_DAEMON_PORT, else 53291); NULL with the reason on stderr when it cannot. */
DORA_C_API void* init_dora_context_from_id(const char* node_id);
DORA_C_API void free_dora_context(void* dora_context);

DORA_C_API void* dora_next_event(void* dora_context);
DORA_C_API void free_dora_event(void* dora_event);

enum DoraEventType {
    DoraEventType_Stop,
    DoraEventType_Input,
    DoraEventType_InputClosed,
    DoraEventType_Error,
    DoraEventType_Unknown,
};
DORA_C_API enum DoraEventType read_dora_event_type(void* dora_event);

DORA_C_API void read_dora_input_id(void* dora_event, char** out_ptr, size_t* out_len);
DORA_C_API void read_dora_input_data(void* dora_event, char** out_ptr, size_t* out_len);
DORA_C_API unsigned long long read_dora_input_timestamp(void* dora_event);
DORA_C_API int dora_send_output(void* dora_context, const char* id_ptr, size_t id_len,
                                const char* data_ptr, size_t data_len);

#ifdef __cplusplus
}
#endif

#endif /* DORA_NODE_API_H */
