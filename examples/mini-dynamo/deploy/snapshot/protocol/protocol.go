// Package protocol names the annotations the snapshot agent and the operator agree on.
package protocol

// CheckpointAnnotation marks a pod whose GPU state the snapshot agent checkpoints.
const CheckpointAnnotation = "nvidia.com/snapshot-checkpoint"

// CheckpointName is the name of the checkpoint a component's pods restore from.
func CheckpointName(graph, component string) string {
	return graph + "-" + component + "-ckpt"
}
