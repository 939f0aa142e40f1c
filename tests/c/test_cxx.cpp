// test_cxx.cpp - gofka.h from C++: the header compiles as C++11 with
// -Wall -Wextra -pedantic -Werror, its declarations have C linkage (this
// file links against libgofka.so without name mangling), and the API works
// with RAII wrappers and std::thread. Run from test_gofka.c's main().

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "harness.h"

namespace {

static_assert(sizeof(gofka_error_t) == 1024, "gofka_error_t is 1024 bytes");
static_assert(std::is_standard_layout<gofka_error_t>::value, "gofka_error_t is a plain C struct");
static_assert(offsetof(gofka_error_t, name) == 8, "name follows code and retriable");
static_assert(std::is_same<gofka_handle_t, uint64_t>::value, "handles are uint64_t");

// A C++ owner of one producer handle: the destructor closes it once.
class Producer {
  public:
    explicit Producer(const std::string &config) {
        gofka_error_t err;
        rc_ = gofka_producer_new(config.c_str(), &handle_, &err);
        if (rc_ != GOFKA_OK) error_ = err.message;
    }
    ~Producer() {
        if (handle_ != 0) gofka_producer_close(handle_, 5000, nullptr);
    }
    Producer(const Producer &) = delete;
    Producer &operator=(const Producer &) = delete;

    bool ok() const { return rc_ == GOFKA_OK; }
    const std::string &error() const { return error_; }

    // Sends value; returns its offset, or -1 and the error.
    int64_t send(const std::string &topic, const std::string &value, gofka_error_t *err) {
        int64_t offset = -1;
        if (gofka_producer_send(handle_, topic.c_str(), 0, nullptr, -1,
                                reinterpret_cast<const uint8_t *>(value.data()), static_cast<int64_t>(value.size()),
                                nullptr, 0, -1, 15000, &offset, err) != GOFKA_OK)
            return -1;
        return offset;
    }

    gofka_handle_t release() {
        gofka_handle_t h = handle_;
        handle_ = 0;
        return h;
    }

  private:
    gofka_handle_t handle_ = 0;
    int32_t rc_ = GOFKA_ERR_LOCAL_UNKNOWN;
    std::string error_;
};

std::string config() { return std::string("bootstrap.servers=") + harness_brokers() + "\nclient.id=gofka-cxx\n"; }

std::string topic(const char *prefix) {
    char buf[96];
    harness_topic(buf, sizeof buf, prefix);
    return buf;
}

void cxx_raii_producer() {
    const std::string t = topic("cxx");
    gofka_handle_t released = 0;
    {
        Producer p(config());
        REQUIRE(p.ok());
        gofka_error_t err;
        for (int64_t i = 0; i < 10; i++) {
            int64_t off = p.send(t, "value " + std::to_string(i), &err);
            CHECK(off == i);
            if (off != i) harness_fail(__FILE__, __LINE__, "send", err.message);
        }
        Producer bad("bootstrap.servers=");
        CHECK(!bad.ok());
        CHECK(bad.error().find("bootstrap.servers") != std::string::npos);
        released = p.release();
        CHECK_RC(GOFKA_OK, gofka_producer_close(released, 5000, &err), &err);
    }
    // the wrapper did not close it again; the handle stays dead
    gofka_error_t err;
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_close(released, 5000, &err), &err);
}

// One admin handle shared by threads: the library is thread-safe.
void cxx_threads_share_admin() {
    const std::string t = topic("cxx-admin");
    {
        Producer p(config());
        REQUIRE(p.ok());
        gofka_error_t err;
        REQUIRE(p.send(t, "x", &err) == 0);
    }
    gofka_handle_t admin = 0;
    gofka_error_t err;
    REQUIRE_RC(GOFKA_OK, gofka_admin_new(config().c_str(), &admin, &err), &err);
    std::atomic<int> found(0), failures(0);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; i++) {
        threads.emplace_back([&]() {
            for (int j = 0; j < 5; j++) {
                char *json = nullptr;
                size_t len = 0;
                gofka_error_t e;
                if (gofka_admin_list_topics(admin, 0, 15000, &json, &len, &e) != GOFKA_OK) {
                    failures++;
                    continue;
                }
                if (std::string(json, len).find(t) != std::string::npos) found++;
                gofka_free(json);
            }
        });
    }
    for (auto &th : threads) th.join();
    CHECK(failures.load() == 0);
    CHECK(found.load() == 20);
    CHECK_RC(GOFKA_OK, gofka_admin_close(admin, &err), &err);
}

// A close racing with calls on other threads: calls fail cleanly.
void cxx_close_races_calls() {
    Producer p(config());
    REQUIRE(p.ok());
    const std::string t = topic("cxx-race");
    gofka_error_t err;
    REQUIRE(p.send(t, "warm-up", &err) == 0);
    gofka_handle_t h = p.release();
    std::atomic<int> ok(0), closed(0), other(0);
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; i++) {
        threads.emplace_back([&]() {
            for (int j = 0; j < 30; j++) {
                gofka_error_t e;
                int32_t rc = gofka_producer_send(h, t.c_str(), 0, nullptr, -1,
                                                 reinterpret_cast<const uint8_t *>("v"), 1, nullptr, 0, -1, 15000,
                                                 nullptr, &e);
                if (rc == GOFKA_OK)
                    ok++;
                else if (rc == GOFKA_ERR_INVALID_HANDLE || rc == GOFKA_ERR_CLIENT_CLOSED)
                    closed++;
                else
                    other++;
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK_RC(GOFKA_OK, gofka_producer_close(h, 15000, &err), &err);
    for (auto &th : threads) th.join();
    CHECK(other.load() == 0);
    CHECK(ok.load() + closed.load() == 90);
    CHECK_RC(GOFKA_ERR_INVALID_HANDLE, gofka_producer_close(h, 1000, &err), &err);
}

}  // namespace

extern "C" void cxx_tests(void) {
    harness_run("cxx_raii_producer", cxx_raii_producer);
    harness_run("cxx_threads_share_admin", cxx_threads_share_admin);
    harness_run("cxx_close_races_calls", cxx_close_races_calls);
}
