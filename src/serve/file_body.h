// Streaming part of a file as a response body, without holding the file in memory.
//
// Threads: the loop thread of the server that made `res`.
#pragma once

#include <cstdint>

#include "herd/base/fd.h"
#include "herd/http/response.h"

namespace herd::serve {

// Sends bytes [offset, offset + length) of `file` as the body of `res`, whose status and headers
// are set already, Content-Length = length included. The bytes are read with pread in pieces of
// 64 KiB; when the connection's queue is full the next piece waits for the drain, so at most a
// piece and the queue's high-water mark are in memory, whatever the file's size. If the file
// ends before `length` bytes (it shrank) or cannot be read, the connection is closed (the
// Response is dropped mid-body), since the promised length cannot be kept. If the client goes
// away, reading stops.
void send_file_body(http::Response res, Fd file, std::uint64_t offset, std::uint64_t length);

}  // namespace herd::serve
