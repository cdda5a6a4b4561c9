// Package pipeline builds data pipelines from interchangeable parts:
// Parse → Compute → Publish, the shape of the original framework's data
// services, with each stage's types checked by the compiler.
//
//	p := pipeline.New(
//		pipeline.JSON[map[string]any]{},               // []byte → record
//		anonymizer,                                    // record → record, emails hashed, IPs dropped
//		&pipeline.HTTPPublisher[map[string]any]{URL: u}, // record → POST
//	)
//	err := p.Process(ctx, body)
//
// Parts: [JSON] parses; [Anonymizer] hashes (HMAC-SHA256) and drops
// configured fields; [Filter], [Then] and [Pass] shape the compute stage;
// [HTTPPublisher] posts, [FilePublisher] appends JSON lines, and a
// queue.Publisher[T] field of the service (its Publish(ctx, T) error makes
// it a [Publisher] as it is) sends to a queue. Any func of the right shape is
// a part through [ParseFunc], [ComputeFunc] and [PublishFunc].
//
// A failure says its stage ([*StageError]): a parse error is the input's
// fault and will not pass on a retry, a publish error may. A compute stage
// returns [ErrSkip] to drop a record without failing.
//
// Package pipelinetest tests the parts with tables of cases and composes
// the parts' cases into end-to-end cases for the assembled pipeline.
package pipeline
