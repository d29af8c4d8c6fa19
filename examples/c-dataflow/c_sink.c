/* A C sink on dora's C API: prints every input with its id, and how many arrived once its input
 * is closed. */
#include <dora/node_api.h>
#include <stdio.h>

int main(void) {
    void* ctx = init_dora_context_from_env();
    if (ctx == NULL) {
        fprintf(stderr, "[c sink] not started by dora (see the message above)\n");
        return 1;
    }
    int received = 0;
    void* event;
    while ((event = dora_next_event(ctx)) != NULL) {
        enum DoraEventType ty = read_dora_event_type(event);
        if (ty == DoraEventType_Input) {
            char *id, *data;
            size_t id_len, data_len;
            read_dora_input_id(event, &id, &id_len);
            read_dora_input_data(event, &data, &data_len);
            printf("[c sink] %.*s: %.*s\n", (int)id_len, id, (int)data_len, data);
            ++received;
        } else if (ty == DoraEventType_InputClosed) {
            printf("[c sink] input closed after %d messages\n", received);
        }
        free_dora_event(event);
    }
    free_dora_context(ctx);
    return 0;
}
