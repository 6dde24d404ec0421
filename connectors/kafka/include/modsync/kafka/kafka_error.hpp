#pragma once
// Kafka failures as typed errors: the librdkafka code travels with the message, so callers
// decide by code (never by matching text), and every code has one kind, decided in one switch.

#include <string>

#include <librdkafka/rdkafka.h>

#include "modsync/common/error.hpp"

namespace modsync::kafka {

/// Whether retrying can cure a failure with `code` (docs/architecture.md, "Errors"): kFatal
/// when it cannot (the topic or partition does not exist, the message is too large, access is
/// denied, the consumer's position is gone, the client failed fatally), kRetriable otherwise.
/// Exhaustive over librdkafka's codes, without a default.
ErrorKind error_kind(rd_kafka_resp_err_t code);

/// A modsync::Error raised by the Kafka connector, carrying librdkafka's code. The message
/// names the context (brokers, group, topic, partition, offset) and the fix.
class KafkaError : public Error {
 public:
  /// Of the kind error_kind(code) gives.
  KafkaError(rd_kafka_resp_err_t code, std::string message)
      : Error(error_kind(code), std::move(message)), code_(code) {}
  /// Of a kind the caller knows better (e.g. a metadata request that timed out at start-up).
  KafkaError(ErrorKind kind, rd_kafka_resp_err_t code, std::string message)
      : Error(kind, std::move(message)), code_(code) {}

  rd_kafka_resp_err_t code() const noexcept { return code_; }
  /// The consumer's position is no longer on the broker (retention deleted it, or the topic
  /// was recreated): auto.offset.reset=error reported it instead of skipping or replaying.
  bool position_lost() const noexcept {
    return code_ == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
           code_ == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE;
  }

 private:
  rd_kafka_resp_err_t code_;
};

}  // namespace modsync::kafka
