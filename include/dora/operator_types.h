/* The types of dora's C operator ABI (dora 0.3.x `apis/c/operator/operator_types.h`): the same
 * struct layouts, names and enum values, so an operator written for dora compiles unchanged and
 * the `dora-runtime` process that loads it (a node with `shared-library:` operators) reads what
 * it returns. operator_api.h declares the three functions an operator defines; this file declares
 * the types and the five functions the runtime provides to it.
 *
 * Ownership (the runtime is the process that dlopen()s the operator):
 *   - Vec_uint8_t from dora_read_data and the string from dora_read_input_id are the runtime's
 *     allocations: give them back with dora_free_data / dora_free_input_id.
 *   - A DoraResult_t error is a malloc()ed Vec_uint8_t whose `ptr` is malloc()ed too (a UTF-8
 *     message, not NUL-terminated). An error an operator returns (from dora_init_operator,
 *     dora_on_event or dora_drop_operator) becomes the runtime's, which reads it and releases
 *     both with free() (`ptr` only when `cap` is not 0), as dora's runtime drops it. An error
 *     dora_send_operator_output returns is the operator's: return it in OnEventResult_t.result
 *     (the usual way) or free() it yourself.
 *   - A RawEvent_t and everything it points to belong to the runtime and live until
 *     dora_on_event returns; `input_closed` and `error` are messages that are not NUL-terminated
 *     (`ptr` is NULL when the event is not of that kind).
 *
 * Thread safety: a SendOutput_t may be used only on the thread that called dora_on_event, while
 * that call runs (the runtime refuses other uses with an error result).
 */
#ifndef DORA_OPERATOR_TYPES_H
#define DORA_OPERATOR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A byte buffer with its length and allocated capacity (Rust's Vec<u8> in C form). */
typedef struct Vec_uint8 {
    uint8_t* ptr;
    size_t len;
    size_t cap;
} Vec_uint8_t;

/* Success when `error` is NULL; otherwise `error` holds the message (see ownership above). */
typedef struct DoraResult {
    Vec_uint8_t* error;
} DoraResult_t;

typedef struct DoraDropOperator {
    DoraResult_t (*drop_operator)(void*);
} DoraDropOperator_t;

/* What dora_init_operator returns: a result and the context handed to every later call. */
typedef struct DoraInitResult {
    DoraResult_t result;
    void* operator_context;
} DoraInitResult_t;

typedef struct DoraInitOperator {
    DoraInitResult_t (*init_operator)(void);
} DoraInitOperator_t;

/* What an operator asks for after an event; one byte wide (DoraStatus_t). CONTINUE: keep
 * delivering events; STOP: this operator is done (it gets no more events); STOP_ALL: the whole
 * runtime node ends. */
enum DoraStatus {
    DORA_STATUS_CONTINUE = 0,
    DORA_STATUS_STOP = 1,
    DORA_STATUS_STOP_ALL = 2,
};
typedef uint8_t DoraStatus_t;

typedef struct OnEventResult {
    DoraResult_t result;
    DoraStatus_t status;
} OnEventResult_t;

/* An input message; opaque: read it with dora_read_input_id and dora_read_data. */
typedef struct Input Input_t;

/* One event. Exactly one of these is set: `input` (non-NULL), `input_closed` (the closed input's
 * id, `ptr` non-NULL), `stop` (true), `error` (the message, `ptr` non-NULL). */
typedef struct RawEvent {
    Input_t* input;
    Vec_uint8_t input_closed;
    bool stop;
    Vec_uint8_t error;
} RawEvent_t;

/* An output on its way to the runtime; opaque (made by dora_send_operator_output). */
typedef struct Output Output_t;

/* A callable with an environment (Rust's Arc<dyn Fn(Output) -> DoraResult> in C form): `call`
 * is invoked with `env_ptr`; `retain` / `release` count references to the environment. */
typedef struct ArcDynFn1_DoraResult_Output {
    void* env_ptr;
    DoraResult_t (*call)(void*, Output_t);
    void (*release)(void*);
    void (*retain)(void*);
} ArcDynFn1_DoraResult_Output_t;

/* The runtime's output sender for one operator; pass it to dora_send_operator_output. */
typedef struct SendOutput {
    ArcDynFn1_DoraResult_Output_t send_output;
} SendOutput_t;

typedef struct DoraOnEvent {
    OnEventResult_t (*on_event)(RawEvent_t*, SendOutput_t const*, void*);
} DoraOnEvent_t;

typedef struct Metadata {
    Vec_uint8_t open_telemetry_context;
} Metadata_t;

/* Gives back a buffer from dora_read_data. */
void dora_free_data(Vec_uint8_t _data);

/* Gives back a string from dora_read_input_id. */
void dora_free_input_id(char* _input_id);

/* A copy of the input's bytes (the message's bytes for byte arrays and text, the values' bytes
 * for other primitive arrays). `ptr` is NULL when the message has no data (a timer tick) or when
 * the data was already read once from this input, as in dora. */
Vec_uint8_t dora_read_data(Input_t* input);

/* The input's id, NUL-terminated, as written under the operator's `inputs:` ("tick", not
 * "<operator>/tick"). */
char* dora_read_input_id(Input_t const* input);

/* Sends `data_len` bytes as a byte array on the operator's output `id` (one of its `outputs:`;
 * the dataflow reads it as `<node>/<operator>/<id>`). The data is copied before this returns. */
DoraResult_t dora_send_operator_output(SendOutput_t const* send_output, char const* id,
                                       uint8_t const* data_ptr, size_t data_len);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DORA_OPERATOR_TYPES_H */
