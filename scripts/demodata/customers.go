package main

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// country is an ISO 3166-1 alpha-2 code with its currency, how many
// customers in a hundred live there, and what its money is worth in euro
// cents per local minor unit (to keep amounts plausible per currency).
type country struct {
	code     string
	currency string
	weight   int
	perEuro  int64 // local units for one euro, roughly
	eu       bool
}

// countries is a slice, not a map, so that draws do not depend on map order.
var countries = []country{
	{"DE", "EUR", 14, 1, true},
	{"FR", "EUR", 11, 1, true},
	{"ES", "EUR", 8, 1, true},
	{"IT", "EUR", 8, 1, true},
	{"NL", "EUR", 5, 1, true},
	{"SE", "SEK", 3, 11, true},
	{"PL", "PLN", 5, 4, true},
	{"IE", "EUR", 2, 1, true},
	{"US", "USD", 22, 1, false},
	{"CA", "CAD", 5, 2, false},
	{"BR", "BRL", 6, 5, false},
	{"JP", "JPY", 6, 150, false},
	{"IN", "INR", 5, 90, false},
}

// name is a display spelling and the ASCII spelling used in e-mail addresses.
type name struct{ display, ascii string }

var firstNames = []name{
	{"Anna", "anna"}, {"Lukas", "lukas"}, {"Zoë", "zoe"}, {"José", "jose"}, {"Søren", "soren"},
	{"Łukasz", "lukasz"}, {"Małgorzata", "malgorzata"}, {"François", "francois"}, {"Jürgen", "jurgen"},
	{"Siobhán", "siobhan"}, {"Björn", "bjorn"}, {"Renée", "renee"}, {"Chloé", "chloe"}, {"Matteo", "matteo"},
	{"Giulia", "giulia"}, {"Lucía", "lucia"}, {"Ingrid", "ingrid"}, {"Emma", "emma"}, {"Liam", "liam"},
	{"Olivia", "olivia"}, {"Noah", "noah"}, {"João", "joao"}, {"Thiago", "thiago"}, {"陽翔", "haruto"},
	{"結衣", "yui"}, {"Aarav", "aarav"}, {"Ananya", "ananya"}, {"Priya", "priya"}, {"Mathéo", "matheo"},
	{"Ólöf", "olof"}, {"Mei", "mei"}, {"Hélène", "helene"},
}

var lastNames = []name{
	{"Müller", "muller"}, {"Schmidt", "schmidt"}, {"García", "garcia"}, {"Rossi", "rossi"},
	{"de Vries", "devries"}, {"Andersson", "andersson"}, {"Kowalski", "kowalski"}, {"Nowak", "nowak"},
	{"O'Brien", "obrien"}, {"Murphy", "murphy"}, {"Smith", "smith"}, {"Johnson", "johnson"},
	{"Tremblay", "tremblay"}, {"Silva", "silva"}, {"Santos", "santos"}, {"佐藤", "sato"},
	{"鈴木", "suzuki"}, {"Sharma", "sharma"}, {"Patel", "patel"}, {"Dvořák", "dvorak"},
	{"Nguyễn", "nguyen"}, {"Çelik", "celik"}, {"Ødegaard", "odegaard"}, {"Lefèvre", "lefevre"},
	{"Ólafsdóttir", "olafsdottir"}, {"Brennan", "brennan"},
}

var domains = []string{"example.com", "example.org", "example.net"}

// cardPrefixes are issuer prefixes of well-known test card numbers, so the
// numbers look real to a masking policy but belong to nobody.
var cardPrefixes = []string{"400000", "555555", "601100"}

var (
	signupFirst = date(2015, 1, 1)
	signupDays  = int(date(2024, 5, 1).Sub(signupFirst).Hours() / 24) // until the first transaction day
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// customer is one row of customers.
type customer struct {
	id         int64
	name       string
	email      string
	country    *country
	card       string
	signupDays int32 // days since 1970-01-01
	vip        bool
}

// customerRand is the random stream of one customer: every attribute is a
// function of (seed, id) alone, so transactions can look a customer up
// without keeping customers in memory, and files can be written in parallel.
func customerRand(seed uint64, id int64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, mix(uint64(id))))
}

// mix is SplitMix64's finalizer: neighbouring ids get unrelated PCG streams.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// customerKey draws the attributes transactions copy: home country and
// card. It must be the first thing drawn from a customer's stream.
func customerKey(r *rand.Rand, seed uint64, id int64) (*country, string) {
	c := pickCountry(r)
	return c, cardNumber(r, seed, id)
}

func newCustomer(seed uint64, id int64) customer {
	r := customerRand(seed, id)
	c, card := customerKey(r, seed, id)
	first := firstNames[r.IntN(len(firstNames))]
	last := lastNames[r.IntN(len(lastNames))]
	return customer{
		id:         id,
		name:       first.display + " " + last.display,
		email:      first.ascii + "." + last.ascii + strconv.FormatInt(id, 10) + "@" + domains[r.IntN(len(domains))],
		country:    c,
		card:       card,
		signupDays: int32(signupFirst.Unix()/86400) + int32(r.IntN(signupDays)),
		vip:        r.IntN(100) < 5,
	}
}

func pickCountry(r *rand.Rand) *country {
	n := r.IntN(100)
	for i := range countries {
		if n < countries[i].weight {
			return &countries[i]
		}
		n -= countries[i].weight
	}
	panic("country weights do not add up to 100")
}

// cardNumber is a 16-digit, Luhn-valid number: a test issuer prefix, nine
// digits that are a bijection of the id (so no two customers share a card
// below a billion customers), and the check digit.
func cardNumber(r *rand.Rand, seed uint64, id int64) string {
	const space = 1_000_000_000
	// 387420489 = 3^18 is coprime to 10^9, so id -> id*k mod 10^9 is a bijection.
	body := (uint64(id)*387420489 + seed%space) % space
	digits := cardPrefixes[r.IntN(len(cardPrefixes))] + pad9(body)
	return digits + string(rune('0'+luhnCheck(digits)))
}

func pad9(v uint64) string {
	s := strconv.FormatUint(v, 10)
	for len(s) < 9 {
		s = "0" + s
	}
	return s
}

// luhnCheck is the digit that makes digits+check pass the Luhn test.
func luhnCheck(digits string) int {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 0 { // doubled: every second digit from the right of the full number
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10 - sum%10) % 10
}
