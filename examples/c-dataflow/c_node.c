/* A C node on dora's C API: on each of 10 timer ticks it sends "tick N" on output `message`, then
 * it returns (its consumers then get INPUT_CLOSED). */
#include <dora/node_api.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    void* ctx = init_dora_context_from_env();
    if (ctx == NULL) {
        fprintf(stderr, "[c node] not started by dora (see the message above)\n");
        return 1;
    }
    int sent = 0;
    while (sent < 10) {
        void* event = dora_next_event(ctx);
        if (event == NULL) {
            break; /* the event stream ended (dora stop) */
        }
        if (read_dora_event_type(event) == DoraEventType_Input) {
            char text[32];
            int len = snprintf(text, sizeof text, "tick %d", sent + 1);
            if (dora_send_output(ctx, "message", strlen("message"), text, (size_t)len) != 0) {
                free_dora_event(event);
                free_dora_context(ctx);
                return 1;
            }
            ++sent;
        }
        free_dora_event(event);
    }
    printf("[c node] sent %d messages\n", sent);
    free_dora_context(ctx);
    return 0;
}
