/* A C operator on dora's C operator API (dora/operator_api.h), run by the runtime node between
 * c_node and c_sink: it counts the messages it receives and sends each one on, with its count, on
 * output `counter`. Built as build/liboperator.so, which the dataflow names `build/operator`. */
#include <dora/operator_api.h>
#include <stdio.h>
#include <stdlib.h>

/* The operator's state, made by dora_init_operator and handed back in every call. */
struct counter {
    int count;
};

DoraInitResult_t dora_init_operator(void) {
    struct counter* state = calloc(1, sizeof *state);
    DoraInitResult_t result = {.operator_context = state};
    return result;
}

DoraResult_t dora_drop_operator(void* operator_context) {
    free(operator_context);
    DoraResult_t result = {0};
    return result;
}

static DoraResult_t on_input(Input_t* input, const SendOutput_t* send_output,
                             struct counter* state) {
    DoraResult_t result = {0};
    char* id = dora_read_input_id(input);
    Vec_uint8_t data = dora_read_data(input);
    if (data.ptr != NULL) {
        state->count += 1;
        char text[96];
        int len = snprintf(text, sizeof text, "%.*s, counted by the C operator: %d", (int)data.len,
                           (const char*)data.ptr, state->count);
        result =
            dora_send_operator_output(send_output, "counter", (const uint8_t*)text, (size_t)len);
    } else {
        printf("[c operator] input `%s` without data\n", id);
    }
    dora_free_data(data);
    dora_free_input_id(id);
    return result;
}

OnEventResult_t dora_on_event(RawEvent_t* event, const SendOutput_t* send_output,
                              void* operator_context) {
    struct counter* state = operator_context;
    OnEventResult_t result = {.status = DORA_STATUS_CONTINUE};
    if (event->input != NULL) {
        result.result = on_input(event->input, send_output, state);
    } else if (event->input_closed.ptr != NULL) {
        printf("[c operator] input `%.*s` closed\n", (int)event->input_closed.len,
               (const char*)event->input_closed.ptr);
    } else if (event->stop) {
        printf("[c operator] stop after %d messages\n", state->count);
    }
    return result;
}
