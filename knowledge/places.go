package knowledge

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Place names, for questions whose answer is a country or a US state
// ("Which country is mediating?"): a sentence that names one the question
// does not is a likely answer. Common English names; a name of several
// words is matched whole.
var (
	countryNames = nameSet(`
Afghanistan|Albania|Algeria|Andorra|Angola|Antigua and Barbuda|Argentina|Armenia|Australia|
Austria|Azerbaijan|Bahamas|Bahrain|Bangladesh|Barbados|Belarus|Belgium|Belize|Benin|Bhutan|
Bolivia|Bosnia and Herzegovina|Bosnia|Botswana|Brazil|Brunei|Bulgaria|Burkina Faso|Burundi|
Cambodia|Cameroon|Canada|Cape Verde|Central African Republic|Chad|Chile|China|Colombia|Comoros|
Congo|Costa Rica|Croatia|Cuba|Cyprus|Czech Republic|Czechia|Denmark|Djibouti|Dominica|
Dominican Republic|Ecuador|Egypt|El Salvador|Equatorial Guinea|Eritrea|Estonia|Eswatini|Ethiopia|
Fiji|Finland|France|Gabon|Gambia|Georgia|Germany|Ghana|Greece|Grenada|Guatemala|Guinea|
Guinea-Bissau|Guyana|Haiti|Honduras|Hungary|Iceland|India|Indonesia|Iran|Iraq|Ireland|Israel|
Italy|Ivory Coast|Jamaica|Japan|Jordan|Kazakhstan|Kenya|Kiribati|Kosovo|Kuwait|Kyrgyzstan|Laos|
Latvia|Lebanon|Lesotho|Liberia|Libya|Liechtenstein|Lithuania|Luxembourg|Madagascar|Malawi|
Malaysia|Maldives|Mali|Malta|Marshall Islands|Mauritania|Mauritius|Mexico|Micronesia|Moldova|
Monaco|Mongolia|Montenegro|Morocco|Mozambique|Myanmar|Namibia|Nauru|Nepal|Netherlands|
New Zealand|Nicaragua|Niger|Nigeria|North Korea|North Macedonia|Norway|Oman|Pakistan|Palau|
Palestine|Panama|Papua New Guinea|Paraguay|Peru|Philippines|Poland|Portugal|Qatar|Romania|Russia|
Rwanda|Saint Lucia|Samoa|San Marino|Saudi Arabia|Senegal|Serbia|Seychelles|Sierra Leone|
Singapore|Slovakia|Slovenia|Solomon Islands|Somalia|South Africa|South Korea|South Sudan|Spain|
Sri Lanka|Sudan|Suriname|Sweden|Switzerland|Syria|Taiwan|Tajikistan|Tanzania|Thailand|
Timor-Leste|Togo|Tonga|Trinidad and Tobago|Tunisia|Turkey|Türkiye|Turkmenistan|Tuvalu|Uganda|
Ukraine|United Arab Emirates|UAE|United Kingdom|UK|Britain|Great Britain|England|Scotland|Wales|
United States|US|USA|Uruguay|Uzbekistan|Vanuatu|Vatican|Venezuela|Vietnam|Yemen|Zambia|Zimbabwe`)
	stateNames = nameSet(`
Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|
Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|
Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|
New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|
South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|
Wisconsin|Wyoming`)
)

// nameSet reads names separated by '|' into a set of their lower-cased
// words joined by single spaces.
func nameSet(list string) map[string]bool {
	m := make(map[string]bool)
	for _, n := range strings.Split(list, "|") {
		if n = strings.Join(strings.Fields(n), " "); n != "" {
			m[strings.ToLower(n)] = true
		}
	}
	return m
}

// placeKind is the kind of place a question asks for, if any.
type placeKind int

const (
	noPlace placeKind = iota
	countryPlace
	statePlace
)

var (
	asksCountry = regexp.MustCompile(`(?i)\b(which|what) (\w+ )?(country|countries|nation|nations)\b`)
	asksState   = regexp.MustCompile(`(?i)\b(which|what) (\w+ )?(state|states)\b`)
)

// asksForPlace tells whether question asks which country ("In which
// country...", "What nation...") or which US state, and which.
func asksForPlace(question string) placeKind {
	switch {
	case asksCountry.MatchString(question):
		return countryPlace
	case asksState.MatchString(question):
		return statePlace
	}
	return noPlace
}

// maxPlaceWords is the most words a place name has ("Papua New Guinea").
const maxPlaceWords = 3

// namesNewPlace reports whether sentence names a place of kind that is not
// among the question's words (lower-cased). Names are looked for in runs of
// capitalised words, which may hold "and" or "of" ("Bosnia and
// Herzegovina"), so "china" in "fine china" or "turkey" in "roast turkey"
// is no country.
func namesNewPlace(sentence string, kind placeKind, qwords map[string]bool) bool {
	names := countryNames
	if kind == statePlace {
		names = stateNames
	}
	found := func(run []string) bool {
		for i := range run {
			for j := i + 1; j <= min(len(run), i+maxPlaceWords); j++ {
				if names[strings.Join(run[i:j], " ")] && !allIn(run[i:j], qwords) {
					return true
				}
			}
		}
		return false
	}
	var run []string // lower-cased words of the current run
	for _, field := range strings.Fields(sentence) {
		word := strings.TrimFunc(field, func(r rune) bool { return !unicode.IsLetter(r) && r != '-' })
		word = strings.TrimSuffix(strings.TrimSuffix(word, "'s"), "’s")
		switch {
		case unicode.IsUpper(firstRune(word)):
			run = append(run, strings.ToLower(word))
		case len(run) > 0 && (word == "and" || word == "of"):
			run = append(run, word)
			continue
		default:
			if found(run) {
				return true
			}
			run = run[:0]
			continue
		}
		// A comma or full stop after a name ends its run: "Egypt, Qatar".
		if strings.ContainsAny(lastRune(field), ",.;:!?)”\"") {
			if found(run) {
				return true
			}
			run = run[:0]
		}
	}
	return found(run)
}

// placeAfter matches a capitalised name after "in", "at", "from" or
// "near": "in Doha", "at the Kremlin".
var placeAfter = regexp.MustCompile(`\b(?:in|at|from|near)\s+(?:the\s+)?(\p{Lu}[\p{L}-]*)`)

// namesAPlace reports whether sentence can answer "where": whether it names
// a country or a US state, or a capitalised name after "in", "at", "from" or
// "near", that is not among the question's words (lower-cased).
func namesAPlace(sentence string, qwords map[string]bool) bool {
	if namesNewPlace(sentence, countryPlace, qwords) || namesNewPlace(sentence, statePlace, qwords) {
		return true
	}
	for _, m := range placeAfter.FindAllStringSubmatch(sentence, -1) {
		if w := strings.ToLower(m[1]); !qwords[w] && !calendarWord.MatchString(w) {
			return true
		}
	}
	return false
}

// calendarWord matches a capitalised word after "in", "from" or "at" that
// names a time, not a place: "in March", "from Feb. 6", "from Monday".
var calendarWord = regexp.MustCompile(`(?i)^(?:` + monthName + `|` + dayName + `)$`)

// allIn reports whether every word is in set.
func allIn(words []string, set map[string]bool) bool {
	for _, w := range words {
		if !set[w] {
			return false
		}
	}
	return true
}

// firstRune returns the first character of s, or utf8.RuneError for "".
func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}
