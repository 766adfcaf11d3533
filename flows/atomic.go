package flows

import "sync/atomic"

func atomicLoad(p *int64) int64 { return atomic.LoadInt64(p) }
