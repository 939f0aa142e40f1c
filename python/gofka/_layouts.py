"""The fixed-size records of libgofka's packed formats (include/gofka.h):
for each, its struct format (little-endian, no padding), its size and the
byte offset of each field.

Generated from internal/packed by `go run ./wire/cmd/errordoc -layouts >
python/gofka/_layouts.py` (make docs); do not edit.
"""

# event: head of one event (events format); payload_len payload bytes follow
EVENT_FORMAT = "<QiiqI"
EVENT_SIZE = 28
EVENT_TOKEN_OFFSET = 0
EVENT_CODE_OFFSET = 8
EVENT_PARTITION_OFFSET = 12
EVENT_OFFSET_OFFSET = 16
EVENT_PAYLOAD_LEN_OFFSET = 24

# batch_result: result of one record of a produce_batch event (count of them, in input order)
BATCH_RESULT_FORMAT = "<iiq"
BATCH_RESULT_SIZE = 16
BATCH_RESULT_CODE_OFFSET = 0
BATCH_RESULT_PARTITION_OFFSET = 4
BATCH_RESULT_OFFSET_OFFSET = 8

# poll_header: start of the messages format (gofka_consumer_poll)
POLL_HEADER_FORMAT = "<iii"
POLL_HEADER_SIZE = 12
POLL_HEADER_MESSAGE_COUNT_OFFSET = 0
POLL_HEADER_EVENT_COUNT_OFFSET = 4
POLL_HEADER_TOPIC_COUNT_OFFSET = 8

# message_head: fixed part of one message of the messages format; ranges [start, end) of the whole buffer, -1/-1 for none
MESSAGE_HEAD_FORMAT = "<iiqqiiiiii"
MESSAGE_HEAD_SIZE = 48
MESSAGE_HEAD_TOPIC_INDEX_OFFSET = 0
MESSAGE_HEAD_PARTITION_OFFSET = 4
MESSAGE_HEAD_OFFSET_OFFSET = 8
MESSAGE_HEAD_TIMESTAMP_MS_OFFSET = 16
MESSAGE_HEAD_KEY_START_OFFSET = 24
MESSAGE_HEAD_KEY_END_OFFSET = 28
MESSAGE_HEAD_VALUE_START_OFFSET = 32
MESSAGE_HEAD_VALUE_END_OFFSET = 36
MESSAGE_HEAD_HEADERS_START_OFFSET = 40
MESSAGE_HEAD_HEADERS_END_OFFSET = 44

# log_head: start of one line of the log format; subsystem_len subsystem bytes, uint32 message_len and the message follow
LOG_HEAD_FORMAT = "<iqI"
LOG_HEAD_SIZE = 16
LOG_HEAD_LEVEL_OFFSET = 0
LOG_HEAD_TIME_NS_OFFSET = 4
LOG_HEAD_SUBSYSTEM_LEN_OFFSET = 12
