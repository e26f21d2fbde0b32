package simulate_test

import (
	"fmt"
	"time"

	"github.com/faultline/faultline/transform/simulate"
)

func ExampleGenerate() {
	sc, err := simulate.Generate("iam-policy", 3, simulate.Options{Duration: 2 * time.Hour})
	if err != nil {
		panic(err)
	}
	tr := sc.Truth
	fmt.Println(tr.Scenario, tr.RootCauseSource, tr.RootCauseService, tr.RootCauseOperation)
	fmt.Println("lead before onset:", tr.Onset.Sub(tr.RootCauseTime).Round(time.Second))
	for _, a := range tr.Affected {
		fmt.Println(a.Service, a.Onset.Format("15:04:05"), a.Via)
	}
	perTopic := map[string]int{}
	_ = sc.EachMessage(func(topic string, _ simulate.Message) error {
		perTopic[topic]++
		return nil
	})
	fmt.Println(perTopic[simulate.TopicAWSEvents], "EventBridge events,", simulate.TopicFormats[simulate.TopicApp], "format on", simulate.TopicApp)
	// Output:
	// iam-policy cloudtrail iam DetachRolePolicy
	// lead before onset: 2m48s
	// profile 09:57:38 []
	// partner-api 09:58:48 [profile]
	// 4 EventBridge events, app format on app-errors
}
