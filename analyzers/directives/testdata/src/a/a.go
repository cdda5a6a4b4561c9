package a

import "fmt"

func used() {
	fmt.Println("x") //toil:ignore fmtprint progress output for the caller

	//toil:ignore fmtprint,breakpoint the banner is part of the contract // want `//toil:ignore for breakpoint suppresses nothing`
	fmt.Println("banner")

	fmt.Println("y") //nolint:fmtprint // golangci form, used

	// want +1 `//toil:ignore needs a reason: //toil:ignore fmtprint REASON`
	//toil:ignore fmtprint
	fmt.Println("z")

	// want +1 `//nolint needs a reason: //nolint:fmtprint // REASON`
	//nolint:fmtprint
	fmt.Println("n")
}

func unused() {
	x := 1 //toil:ignore fmtprint nothing prints here // want `//toil:ignore for fmtprint suppresses nothing`
	_ = x

	//toil:ignore logdebug logdebug did not run, so this cannot be judged
	_ = x

	//toil:ignore fmtprnt typo // want `//toil:ignore names unknown rule "fmtprnt"; known rules: breakpoint, builtinprint`
	_ = x

	// want +1 `//toil:ignore needs a rule and a reason`
	//toil:ignore
	_ = x

	//toil:ignroe fmtprint typo in the verb // want `unknown directive //toil:ignroe`
	_ = x

	// toil:ignore fmtprint spaced // want `"// toil:ignore" is not a directive: write //toil:ignore with no space after //`
	_ = x

	//nolint:errcheck // another linter's: not ours to judge
	_ = x

	//nolint // bare nolint: golangci-lint's nolintlint judges it
	_ = x

	//nolint:all
	_ = x

	// nolint:errcheck another linter's, spaced: not ours either
	_ = x
}
