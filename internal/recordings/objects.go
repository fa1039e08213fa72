package recordings

// Labels and annotations of the objects the manager creates for a
// recording. The agent reads them to tell which recording a learned
// profile's would-be denials (complain) and denials (enforce) belong to.
const (
	// LabelNamespace is the recording's namespace; with
	// v1alpha1.LabelRecording (its name) it finds a recording's
	// cluster-scoped SeccompProfiles.
	LabelNamespace = "seccomp-operator.dev/recording-namespace"
	// AnnotationRecording names the recording a learned profile came
	// from, "<namespace>/<name>" (Key).
	AnnotationRecording = "seccomp-operator.dev/recording-name"
	// AnnotationRecordingUID is that recording's UID: a later recording
	// of the same name does not claim the profile's denials.
	AnnotationRecordingUID = "seccomp-operator.dev/recording-uid"
	// AnnotationMergeKey is the merge key (MergeKey) a learned profile
	// holds the syscalls of.
	AnnotationMergeKey = "seccomp-operator.dev/recording-key"
)
