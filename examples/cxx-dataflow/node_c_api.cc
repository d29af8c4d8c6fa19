// A C++ node on dora's C API (dora/node_api.h): doubles each counter byte it receives and sends
// the result on `doubled`, until its input is closed.
extern "C" {
#include <dora/node_api.h>
}

#include <cstdio>
#include <iostream>

int main() {
    void* ctx = init_dora_context_from_env();
    if (ctx == nullptr) {
        return 1;
    }
    while (void* event = dora_next_event(ctx)) {
        if (read_dora_event_type(event) == DoraEventType_Input) {
            char* data = nullptr;
            size_t len = 0;
            read_dora_input_data(event, &data, &len);
            if (len == 1) {
                const char doubled = static_cast<char>(2 * static_cast<unsigned char>(data[0]));
                std::cout << "[c api] "
                          << static_cast<unsigned>(static_cast<unsigned char>(data[0])) << " -> "
                          << static_cast<unsigned>(static_cast<unsigned char>(doubled))
                          << std::endl;
                if (dora_send_output(ctx, "doubled", 7, &doubled, 1) != 0) {
                    free_dora_event(event);
                    free_dora_context(ctx);
                    return 1;
                }
            }
        }
        free_dora_event(event);
    }
    free_dora_context(ctx);
    return 0;
}
