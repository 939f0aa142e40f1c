package wire

// The share-group messages (share.go, share_group_describe.go,
// share_group_offsets.go) in the kmsg oracle: their rows are
// appended to oracleCases here, in a file of their own, so that
// TestKmsgOracle and TestKmsgOracleCoverage check them at every version
// they declare like every other request type.

func init() {
	oracleCases = append(oracleCases,
		oracleCase{req: &ShareGroupHeartbeatRequest{}},
		oracleCase{req: &ShareGroupDescribeRequest{}, names: map[string]string{
			"ShareGroupDescribeResponseGroup.AssignorName": "Assignor",
		}},
		oracleCase{req: &ShareFetchRequest{}},
		oracleCase{req: &ShareAcknowledgeRequest{}},
		oracleCase{req: &DescribeShareGroupOffsetsRequest{}},
		oracleCase{req: &AlterShareGroupOffsetsRequest{}},
		oracleCase{req: &DeleteShareGroupOffsetsRequest{}},
	)
}
