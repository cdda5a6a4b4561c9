package tempest

import (
	"math"
	"slices"
)

// Model versions of the CTR model. ModelV2 is rolled out placement by
// placement with the switch SwitchScorerV2.
const (
	ModelV1 = "v1"
	ModelV2 = "v2"
)

// Matches reports whether ad a of campaign c may show on placement p: the
// ad is the placement's size, and each targeting list of the campaign is
// empty (any value) or holds the placement's category, geo and device.
func Matches(p Placement, c Campaign, a Ad) bool {
	if a.Width != p.Width || a.Height != p.Height {
		return false
	}
	return scoreAllows(c.Targeting.Categories, p.Category) &&
		scoreAllows(c.Targeting.Geos, p.Geo) &&
		scoreAllows(c.Targeting.Devices, p.Device)
}

// scoreAllows is one targeting rule: an empty list allows anything.
func scoreAllows(list []string, v string) bool {
	return len(list) == 0 || slices.Contains(list, v)
}

// CTR is the predicted click-through rate of ad a of campaign c on
// placement p, in (0, 1): a logistic regression, 1/(1+e^-(w·x)), over the
// features
//
//	bias            always 1
//	category_match  1 if the campaign targets categories and p's is one of them
//	geo_match       1 if the campaign targets geos and p's is one of them
//	device_match    1 if the campaign targets devices and p's is one of them
//	mobile          1 if p is a mobile placement
//	area            the ad's area in units of 100,000 square pixels
//	text_length     the ad text's length as a share of MaxAdText
//
// with the weights of model ModelV1 or ModelV2; any other name scores with
// ModelV1, so a typo never makes every ad worthless. Explicit targeting
// counts for more than "any": an advertiser who picked the audience tends
// to be clicked more. It is deterministic: the same inputs always give the
// same CTR.
func CTR(model string, p Placement, c Campaign, a Ad) float64 {
	w := &scoreWeightsV1
	if model == ModelV2 {
		w = &scoreWeightsV2
	}
	x := scoreFeatures(p, c, a)
	z := 0.0
	for i := range x {
		z += w[i] * x[i]
	}
	return 1 / (1 + math.Exp(-z))
}

// scoreFeatureCount is the length of the feature vector, bias included.
const scoreFeatureCount = 7

// The weights of each model, in scoreFeatures' order. They are made up
// but plausible: a bias near a 1% CTR, and small effects of each feature.
// v2 trusts category targeting more, no longer penalises mobile and
// prefers short texts.
var (
	scoreWeightsV1 = [scoreFeatureCount]float64{-4.6, 0.8, 0.3, 0.2, -0.3, 0.5, 0.4}
	scoreWeightsV2 = [scoreFeatureCount]float64{-4.4, 1.1, 0.2, 0.4, 0.1, 0.3, -0.2}
)

// scoreFeatures is the feature vector CTR weighs; a fixed-size array, so
// scoring allocates nothing.
func scoreFeatures(p Placement, c Campaign, a Ad) [scoreFeatureCount]float64 {
	return [scoreFeatureCount]float64{
		1,
		scoreExplicit(c.Targeting.Categories, p.Category),
		scoreExplicit(c.Targeting.Geos, p.Geo),
		scoreExplicit(c.Targeting.Devices, p.Device),
		scoreBool(p.Device == "mobile"),
		float64(a.Width*a.Height) / 100_000,
		float64(len(a.Text)) / MaxAdText,
	}
}

// scoreExplicit is 1 when list targets v explicitly, 0 for "any" or no match.
func scoreExplicit(list []string, v string) float64 {
	return scoreBool(len(list) > 0 && slices.Contains(list, v))
}

func scoreBool(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
