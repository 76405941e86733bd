"""Generated rows for the demo's AdventureWorks warehouse (the shared schema ships without data).

Every one of the 68 tables of the five business schemas gets rows that respect its types,
``CHECK`` constraints, primary keys and foreign keys, and that tell one consistent story: the
Adventure Works Cycles bicycle company with ~100 employees (twelve of them sales
representatives), 1,000 individual customers and 100 reseller stores, 50 vendors, ~300
products in AdventureWorks' four categories and 37 subcategories, two years of sales orders
(order totals = their lines + 8 % tax + 2.5 % freight), purchase orders, work orders, bills of
materials and inventory. Names, addresses and companies come from Faker (per country's
locale), numbers from ``random.Random(seed)``: the same seed and day give the same rows.

Sizes stay small so that ``make demo`` starts quickly: lookups keep AdventureWorks' own values,
the biggest tables (order lines, transactions) have a few thousand rows (see ``SIZES``).

Two facts are planted for the demo's data contracts (``apps/demo/contracts``):

- the newest pay change (``humanresources.employeepayhistory.modifieddate``) was entered
  ``FRESH_HOURS`` hours before loading, so the HR contract's one-day latency SLA is met;
- ``BAD_SHIPPED_ORDERS`` sales orders are *shipped* (status 5) without a ship date, so the
  Sales contract's rule "Shipped orders have a ship date" fails and opens an incident.

Entry points: :func:`generate_rows` (pure, no database) and :func:`load_rows` (COPY into a
database holding the empty AdventureWorks schema, in one transaction).
"""

from __future__ import annotations

import base64
import math
import random
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from xml.sax.saxutils import escape

SEED = 15
#: Rows of the generated entities (lookup tables keep AdventureWorks' own values).
SIZES = {
    "stores": 100,
    "vendors": 50,
    "general_contacts": 40,
    "individuals": 1000,
    "sales_orders": 2000,
    "purchase_orders": 400,
    "work_orders": 1000,
    "reviews": 25,
    "job_candidates": 13,
    "history_days": 730,
}
FRESH_HOURS = 7
BAD_SHIPPED_ORDERS = 4
#: Materialized views built on the generated tables (refreshed after loading).
MATERIALIZED_VIEWS = ("person.vstateprovincecountryregion", "production.vproductanddescription")

CENT = Decimal("0.01")
_LOCALES = {"US": "en_US", "CA": "en_CA", "FR": "fr_FR", "DE": "de_DE", "AU": "en_AU", "GB": "en_GB"}
COUNTRIES = [
    ("AU", "Australia"),
    ("CA", "Canada"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("GB", "United Kingdom"),
    ("US", "United States"),
]
CURRENCIES = [
    ("AUD", "Australian Dollar"),
    ("CAD", "Canadian Dollar"),
    ("EUR", "EURO"),
    ("GBP", "United Kingdom Pound"),
    ("USD", "US Dollar"),
    ("JPY", "Yen"),
    ("CHF", "Swiss Franc"),
]
COUNTRY_CURRENCY = {"AU": "AUD", "CA": "CAD", "DE": "EUR", "FR": "EUR", "GB": "GBP", "US": "USD"}
USD_RATE = {"AUD": 1.52, "CAD": 1.36, "EUR": 0.92, "GBP": 0.79}
# id, name, country, group
TERRITORIES = [
    (1, "Northwest", "US", "North America"),
    (2, "Northeast", "US", "North America"),
    (3, "Central", "US", "North America"),
    (4, "Southwest", "US", "North America"),
    (5, "Southeast", "US", "North America"),
    (6, "Canada", "CA", "North America"),
    (7, "France", "FR", "Europe"),
    (8, "Germany", "DE", "Europe"),
    (9, "Australia", "AU", "Pacific"),
    (10, "United Kingdom", "GB", "Europe"),
]
# code, country, name, territory, weight (share of the addresses)
STATES = [
    ("WA", "US", "Washington", 1, 14),
    ("OR", "US", "Oregon", 1, 5),
    ("ID", "US", "Idaho", 1, 1),
    ("MT", "US", "Montana", 1, 1),
    ("NY", "US", "New York", 2, 4),
    ("MA", "US", "Massachusetts", 2, 2),
    ("PA", "US", "Pennsylvania", 2, 2),
    ("NJ", "US", "New Jersey", 2, 1),
    ("IL", "US", "Illinois", 3, 2),
    ("MI", "US", "Michigan", 3, 2),
    ("MN", "US", "Minnesota", 3, 1),
    ("OH", "US", "Ohio", 3, 2),
    ("CA", "US", "California", 4, 16),
    ("AZ", "US", "Arizona", 4, 2),
    ("NV", "US", "Nevada", 4, 1),
    ("UT", "US", "Utah", 4, 1),
    ("TX", "US", "Texas", 5, 4),
    ("FL", "US", "Florida", 5, 3),
    ("GA", "US", "Georgia", 5, 1),
    ("NC", "US", "North Carolina", 5, 1),
    ("BC", "CA", "British Columbia", 6, 6),
    ("ON", "CA", "Ontario", 6, 3),
    ("QC", "CA", "Quebec", 6, 1),
    ("AB", "CA", "Alberta", 6, 1),
    ("75", "FR", "Seine (Paris)", 7, 3),
    ("69", "FR", "Rhône", 7, 1),
    ("13", "FR", "Bouches du Rhône", 7, 1),
    ("59", "FR", "Nord", 7, 1),
    ("BY", "DE", "Bayern", 8, 2),
    ("HE", "DE", "Hessen", 8, 2),
    ("NW", "DE", "Nordrhein-Westfalen", 8, 2),
    ("HH", "DE", "Hamburg", 8, 1),
    ("NSW", "AU", "New South Wales", 9, 6),
    ("VIC", "AU", "Victoria", 9, 3),
    ("QLD", "AU", "Queensland", 9, 2),
    ("ENG", "GB", "England", 10, 6),
]
SALES_TAX = {
    "US": (Decimal("8.75"), "State Sales Tax"),
    "CA": (Decimal("7.00"), "Canadian GST"),
    "FR": (Decimal("19.60"), "France Taxe sur la Valeur Ajoutée"),
    "DE": (Decimal("16.00"), "Germany Output Tax"),
    "GB": (Decimal("17.50"), "United Kingdom Output Tax"),
    "AU": (Decimal("10.00"), "Australia GST"),
}
ADDRESS_TYPES = ["Billing", "Home", "Main Office", "Primary", "Shipping", "Archive"]
CONTACT_TYPES = [
    "Accounting Manager",
    "Assistant Sales Agent",
    "Assistant Sales Representative",
    "Coordinator Foreign Markets",
    "Export Administrator",
    "International Marketing Manager",
    "Marketing Assistant",
    "Marketing Manager",
    "Marketing Representative",
    "Order Administrator",
    "Owner",
    "Owner/Marketing Assistant",
    "Product Manager",
    "Purchasing Agent",
    "Purchasing Manager",
    "Regional Account Representative",
    "Sales Agent",
    "Sales Associate",
    "Sales Manager",
    "Sales Representative",
]
PHONE_TYPES = ["Cell", "Home", "Work"]
SHIFTS = [("Day", time(7), time(15)), ("Evening", time(15), time(23)), ("Night", time(23), time(7))]
# department, group, [(job title, how many)]
DEPARTMENTS = [
    ("Executive", "Executive General and Administration", [("Chief Executive Officer", 1)]),
    (
        "Engineering",
        "Research and Development",
        [
            ("Vice President of Engineering", 1),
            ("Engineering Manager", 1),
            ("Senior Design Engineer", 1),
            ("Design Engineer", 2),
        ],
    ),
    ("Tool Design", "Research and Development", [("Tool Designer", 3)]),
    (
        "Sales",
        "Sales and Marketing",
        [
            ("Vice President of Sales", 1),
            ("North American Sales Manager", 1),
            ("European Sales Manager", 1),
            ("Sales Representative", 12),
        ],
    ),
    (
        "Marketing",
        "Sales and Marketing",
        [("Marketing Manager", 1), ("Marketing Specialist", 2), ("Marketing Assistant", 1)],
    ),
    ("Purchasing", "Inventory Management", [("Purchasing Manager", 1), ("Buyer", 4), ("Purchasing Assistant", 1)]),
    (
        "Research and Development",
        "Research and Development",
        [("Research and Development Manager", 1), ("Research and Development Engineer", 2)],
    ),
    (
        "Production",
        "Manufacturing",
        [
            ("Vice President of Production", 1),
            ("Production Supervisor - WC10", 2),
            ("Production Supervisor - WC20", 2),
            ("Production Technician - WC10", 9),
            ("Production Technician - WC20", 9),
            ("Production Technician - WC30", 8),
        ],
    ),
    (
        "Production Control",
        "Manufacturing",
        [("Production Control Manager", 1), ("Master Scheduler", 1), ("Scheduling Assistant", 1)],
    ),
    (
        "Human Resources",
        "Executive General and Administration",
        [("Human Resources Manager", 1), ("Benefits Specialist", 1), ("Recruiter", 2)],
    ),
    (
        "Finance",
        "Executive General and Administration",
        [
            ("Chief Financial Officer", 1),
            ("Accountant", 2),
            ("Accounts Payable Specialist", 1),
            ("Accounts Receivable Specialist", 1),
        ],
    ),
    (
        "Information Services",
        "Executive General and Administration",
        [
            ("Information Services Manager", 1),
            ("Network Administrator", 1),
            ("Database Administrator", 1),
            ("Application Specialist", 2),
        ],
    ),
    ("Document Control", "Quality Assurance", [("Control Specialist", 2), ("Document Control Assistant", 1)]),
    ("Quality Assurance", "Quality Assurance", [("Quality Assurance Manager", 1), ("Quality Assurance Technician", 3)]),
    (
        "Facilities and Maintenance",
        "Executive General and Administration",
        [("Facilities Manager", 1), ("Maintenance Supervisor", 1), ("Janitor", 2)],
    ),
    ("Shipping and Receiving", "Inventory Management", [("Shipping and Receiving Supervisor", 1), ("Stocker", 3)]),
]
SALES_MANAGERS = ("North American Sales Manager", "European Sales Manager")
# name, cost rate, availability, manufacturing step (work order routing)
LOCATIONS = [
    ("Tool Crib", "0.00", "0.00", False),
    ("Sheet Metal Racks", "0.00", "0.00", False),
    ("Paint Shop", "0.00", "0.00", False),
    ("Paint Storage", "0.00", "0.00", False),
    ("Metal Storage", "0.00", "0.00", False),
    ("Miscellaneous Storage", "0.00", "0.00", False),
    ("Finished Goods Storage", "0.00", "0.00", False),
    ("Frame Forming", "22.50", "96.00", True),
    ("Frame Welding", "25.00", "108.00", True),
    ("Debur and Polish", "14.50", "120.00", True),
    ("Paint", "15.75", "120.00", True),
    ("Specialized Paint", "18.00", "80.00", True),
    ("Subassembly", "12.25", "120.00", True),
    ("Final Assembly", "12.25", "120.00", True),
]
SCRAP_REASONS = [
    "Brake assembly not as ordered",
    "Color incorrect",
    "Gouge in metal",
    "Drill pattern incorrect",
    "Drill size too large",
    "Drill size too small",
    "Handling damage",
    "Paint process failed",
    "Primer process failed",
    "Seat assembly not as ordered",
    "Stress test failed",
    "Thermoform temperature too high",
    "Thermoform temperature too low",
    "Trim length too long",
    "Trim length too short",
    "Wheel misaligned",
]
UNIT_MEASURES = [
    ("BOX", "Boxes"),
    ("CM", "Centimeter"),
    ("CTN", "Container"),
    ("DZ", "Dozen"),
    ("EA", "Each"),
    ("G", "Gram"),
    ("IN", "Inch"),
    ("KG", "Kilogram"),
    ("L", "Liter"),
    ("LB", "US pound"),
    ("M", "Meter"),
    ("ML", "Milliliter"),
    ("PC", "Piece"),
]
CULTURES = [
    ("ar", "Arabic"),
    ("en", "English"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("he", "Hebrew"),
    ("th", "Thai"),
    ("zh-cht", "Chinese"),
]
SHIP_METHODS = [
    ("XRQ - TRUCK GROUND", "3.95", "0.99"),
    ("ZY - EXPRESS", "9.95", "1.99"),
    ("OVERSEAS - DELUXE", "29.95", "2.99"),
    ("OVERNIGHT J-FAST", "21.95", "1.29"),
    ("CARGO TRANSPORT 5", "8.99", "1.49"),
]
SALES_REASONS = [
    ("Price", "Other"),
    ("On Promotion", "Promotion"),
    ("Magazine Advertisement", "Marketing"),
    ("Television  Advertisement", "Marketing"),
    ("Manufacturer", "Other"),
    ("Review", "Other"),
    ("Demo Event", "Marketing"),
    ("Sponsorship", "Marketing"),
    ("Quality", "Other"),
    ("Other", "Other"),
]
CARD_TYPES = ["SuperiorCard", "Distinguish", "ColonialVoice", "Vista"]
COLORS = ["Black", "Silver", "Red", "Yellow", "Blue"]

_CLASS = {"HL": "H", "ML": "M", "LL": "L"}  # quality line -> Product.class
# Product catalogue: category -> subcategory -> [(model, product line, class, style, list price, weight lb, sizes, colours)]
_BIKE_SIZES = ["38", "40", "42", "44", "46", "48", "52", "56", "58", "60", "62"]
CATALOG = {
    "Bikes": {
        "Mountain Bikes": [
            ("Mountain-100", "M", "H", "U", 3399.99, 21.0, _BIKE_SIZES[:5], ["Silver", "Black"]),
            ("Mountain-200", "M", "H", "U", 2294.99, 23.0, _BIKE_SIZES[:5], ["Silver", "Black"]),
            ("Mountain-300", "M", "M", "U", 1079.99, 25.0, _BIKE_SIZES[:5], ["Black"]),
            ("Mountain-400-W", "M", "M", "W", 769.49, 26.0, _BIKE_SIZES[:5], ["Silver"]),
            ("Mountain-500", "M", "L", "U", 564.99, 27.0, _BIKE_SIZES[2:7], ["Silver", "Black"]),
        ],
        "Road Bikes": [
            ("Road-150", "R", "H", "U", 3578.27, 14.0, _BIKE_SIZES[4:9], ["Red"]),
            ("Road-250", "R", "H", "U", 2443.35, 15.0, _BIKE_SIZES[5:10], ["Red", "Black"]),
            ("Road-350-W", "R", "M", "W", 1700.99, 16.0, _BIKE_SIZES[2:6], ["Yellow"]),
            ("Road-550-W", "R", "M", "W", 1120.49, 18.0, _BIKE_SIZES[2:6], ["Yellow"]),
            ("Road-650", "R", "L", "U", 782.99, 20.0, _BIKE_SIZES[5:10], ["Red", "Black"]),
            ("Road-750", "R", "L", "U", 539.99, 21.0, _BIKE_SIZES[5:9], ["Black"]),
        ],
        "Touring Bikes": [
            ("Touring-1000", "T", "H", "U", 2384.07, 25.0, _BIKE_SIZES[5:9], ["Yellow", "Blue"]),
            ("Touring-2000", "T", "M", "U", 1214.85, 27.0, _BIKE_SIZES[5:9], ["Blue"]),
            ("Touring-3000", "T", "L", "U", 742.35, 29.0, _BIKE_SIZES[5:9], ["Yellow", "Blue"]),
        ],
    },
    "Components": {
        "Mountain Frames": [
            ("HL Mountain Frame", "M", "H", "U", 1364.50, 2.8, _BIKE_SIZES[:5], ["Silver", "Black"]),
            ("ML Mountain Frame", "M", "M", "U", 348.76, 2.9, _BIKE_SIZES[:5], ["Black"]),
            ("LL Mountain Frame", "M", "L", "U", 249.79, 3.1, _BIKE_SIZES[2:7], ["Silver", "Black"]),
        ],
        "Road Frames": [
            ("HL Road Frame", "R", "H", "U", 1431.50, 2.2, _BIKE_SIZES[4:10], ["Red", "Black"]),
            ("ML Road Frame", "R", "M", "U", 594.83, 2.4, _BIKE_SIZES[4:9], ["Red"]),
            ("LL Road Frame", "R", "L", "U", 337.22, 2.5, _BIKE_SIZES[4:10], ["Red", "Black"]),
        ],
        "Touring Frames": [
            ("HL Touring Frame", "T", "H", "U", 1003.91, 3.0, _BIKE_SIZES[5:9], ["Yellow", "Blue"]),
            ("LL Touring Frame", "T", "L", "U", 333.42, 3.3, _BIKE_SIZES[5:9], ["Yellow", "Blue"]),
        ],
        "Handlebars": [
            (f"{q} {k} Handlebars", k[0], _CLASS.get(q), None, p, 0.5, [], [])
            for q, k, p in [
                ("HL", "Mountain", 120.27),
                ("ML", "Mountain", 61.92),
                ("LL", "Mountain", 44.54),
                ("HL", "Road", 120.27),
                ("ML", "Road", 61.92),
                ("LL", "Road", 44.54),
                ("HL", "Touring", 91.57),
            ]
        ],
        "Bottom Brackets": [
            (f"{q} Bottom Bracket", None, _CLASS.get(q), None, p, 0.4, [], [])
            for q, p in [("HL", 121.49), ("ML", 101.24), ("LL", 53.99)]
        ],
        "Brakes": [
            ("Front Brakes", "R", "H", None, 106.50, 0.7, [], ["Silver"]),
            ("Rear Brakes", "R", "H", None, 106.50, 0.7, [], ["Silver"]),
        ],
        "Chains": [("Chain", "R", None, None, 20.24, 0.6, [], ["Silver"])],
        "Cranksets": [
            (f"{q} Crankset", "R", _CLASS.get(q), None, p, 1.3, [], ["Black"])
            for q, p in [("HL", 404.99), ("ML", 256.49), ("LL", 175.49)]
        ],
        "Derailleurs": [
            ("Front Derailleur", "R", "H", None, 91.49, 0.4, [], ["Silver"]),
            ("Rear Derailleur", "R", "H", None, 121.46, 0.5, [], ["Silver"]),
        ],
        "Forks": [
            (f"{q} Fork", None, _CLASS.get(q), None, p, 1.2, [], [])
            for q, p in [("HL", 229.49), ("ML", 175.49), ("LL", 148.22)]
        ],
        "Headsets": [
            (f"{q} Headset", None, _CLASS.get(q), None, p, 0.3, [], [])
            for q, p in [("HL", 124.73), ("ML", 102.29), ("LL", 34.20)]
        ],
        "Pedals": [
            (f"{q} {k} Pedal", k[0], _CLASS.get(q), None, p, 0.5, [], ["Silver/Black"])
            for q, k, p in [
                ("HL", "Mountain", 80.99),
                ("ML", "Mountain", 62.09),
                ("LL", "Mountain", 40.49),
                ("HL", "Road", 80.99),
                ("ML", "Road", 62.09),
                ("LL", "Road", 40.49),
                ("Touring", "Touring", 80.99),
            ]
        ],
        "Saddles": [
            (f"{q} {k} Seat/Saddle", k[0], _CLASS.get(q), None, p, 0.6, [], [])
            for q, k, p in [
                ("HL", "Mountain", 52.64),
                ("ML", "Mountain", 39.14),
                ("LL", "Mountain", 27.12),
                ("HL", "Road", 52.64),
                ("ML", "Road", 39.14),
                ("LL", "Road", 27.12),
                ("HL", "Touring", 52.64),
            ]
        ],
        "Wheels": [
            (f"{q} {k} {side} Wheel", k[0], _CLASS.get(q), None, p, 1.9, [], ["Black"])
            for q, k, side, p in [
                ("HL", "Mountain", "Front", 300.22),
                ("HL", "Mountain", "Rear", 327.22),
                ("LL", "Mountain", "Front", 60.75),
                ("LL", "Mountain", "Rear", 87.75),
                ("HL", "Road", "Front", 330.06),
                ("HL", "Road", "Rear", 357.06),
                ("LL", "Road", "Front", 85.57),
                ("LL", "Road", "Rear", 112.57),
                ("Touring", "Touring", "Front", 218.01),
                ("Touring", "Touring", "Rear", 245.01),
            ]
        ],
    },
    "Clothing": {
        "Bib-Shorts": [("Men's Bib-Shorts", "S", None, "M", 89.99, None, ["S", "M", "L"], ["Multi"])],
        "Caps": [("AWC Logo Cap", "S", None, "U", 8.99, None, [], ["Multi"])],
        "Gloves": [
            ("Full-Finger Gloves", "M", None, "U", 37.99, None, ["S", "M", "L"], ["Black"]),
            ("Half-Finger Gloves", "S", None, "U", 24.49, None, ["S", "M", "L"], ["Black"]),
        ],
        "Jerseys": [
            ("Long-Sleeve Logo Jersey", "S", None, "U", 49.99, None, ["S", "M", "L", "XL"], ["Multi"]),
            ("Short-Sleeve Classic Jersey", "S", None, "U", 53.99, None, ["S", "M", "L", "XL"], ["Yellow"]),
        ],
        "Shorts": [
            ("Men's Sports Shorts", "S", None, "M", 59.99, None, ["S", "M", "L", "XL"], ["Black"]),
            ("Women's Mountain Shorts", "M", None, "W", 69.99, None, ["S", "M", "L"], ["Black"]),
        ],
        "Socks": [
            ("Mountain Bike Socks", "M", None, "U", 9.50, None, ["M", "L"], ["White"]),
            ("Racing Socks", "R", None, "U", 8.99, None, ["M", "L"], ["White"]),
        ],
        "Tights": [("Women's Tights", "S", None, "W", 74.99, None, ["S", "M", "L"], ["Black"])],
        "Vests": [("Classic Vest", "S", None, "U", 63.50, None, ["S", "M", "L"], ["Blue"])],
    },
    "Accessories": {
        "Bike Racks": [("Hitch Rack - 4-Bike", "S", None, None, 120.00, None, [], [])],
        "Bike Stands": [("All-Purpose Bike Stand", "M", None, None, 159.00, None, [], [])],
        "Bottles and Cages": [
            ("Water Bottle - 30 oz.", "S", None, None, 4.99, None, [], []),
            ("Mountain Bottle Cage", "M", None, None, 9.99, None, [], []),
            ("Road Bottle Cage", "R", None, None, 8.99, None, [], []),
        ],
        "Cleaners": [("Bike Wash - Dissolver", "S", None, None, 7.95, None, [], [])],
        "Fenders": [("Fender Set - Mountain", "M", None, None, 21.98, None, [], [])],
        "Helmets": [("Sport-100 Helmet", "S", None, None, 34.99, None, [], ["Red", "Black", "Blue"])],
        "Hydration Packs": [("Hydration Pack - 70 oz.", "S", None, None, 54.99, None, [], ["Silver"])],
        "Lights": [
            ("Headlights - Dual-Beam", "R", None, None, 34.99, None, [], []),
            ("Headlights - Weatherproof", "R", None, None, 44.99, None, [], []),
            ("Taillights - Battery-Powered", "R", None, None, 13.99, None, [], []),
        ],
        "Locks": [("Cable Lock", "S", None, None, 25.00, None, [], [])],
        "Panniers": [("Touring-Panniers, Large", "T", None, None, 125.00, None, [], ["Grey"])],
        "Pumps": [
            ("Minipump", "S", None, None, 19.99, None, [], []),
            ("Mountain Pump", "M", None, None, 24.99, None, [], []),
        ],
        "Tires and Tubes": [
            ("Patch Kit/8 Patches", "S", None, None, 2.29, None, [], []),
            ("Mountain Tire Tube", "M", None, None, 4.99, None, [], []),
            ("Road Tire Tube", "R", None, None, 3.99, None, [], []),
            ("Touring Tire Tube", "T", None, None, 4.99, None, [], []),
            ("HL Mountain Tire", "M", None, None, 35.00, None, [], []),
            ("LL Road Tire", "R", None, None, 21.49, None, [], []),
            ("Touring Tire", "T", None, None, 28.99, None, [], []),
        ],
    },
}
# Parts bought or made for assembly, without a subcategory (list price 0, like AdventureWorks).
RAW_PARTS = [
    "Adjustable Race",
    "Bearing Ball",
    "BB Ball Bearing",
    "Headset Ball Bearings",
    "Blade",
    "LL Crankarm",
    "ML Crankarm",
    "HL Crankarm",
    "Chainring Bolts",
    "Chainring Nut",
    "Chainring",
    "Crown Race",
    "Chain Stays",
    "Decal 1",
    "Decal 2",
    "Down Tube",
    "Mountain End Caps",
    "Road End Caps",
    "Touring End Caps",
    "Fork End",
    "Freewheel",
    "Fork Crown",
    "Guide Pulley",
    "Head Tube",
    "Seat Stays",
    "Seat Tube",
    "Top Tube",
    "Tension Pulley",
    "Rear Derailleur Cage",
    "Spokes",
    "Rim Tape",
    "Steerer",
    "Stem",
    "Seat Post",
    "Seat Lug",
    "Cup-Shaped Race",
    "Cone-Shaped Race",
    "Reflector",
    "Metal Angle",
    "Metal Sheet 1",
    "Metal Sheet 2",
    "Metal Plate 1",
    "Metal Plate 2",
    "External Lock Washer 1",
    "External Lock Washer 2",
    "Internal Lock Washer 1",
    "Internal Lock Washer 2",
    "Keyed Washer",
    "Lock Nut 1",
    "Lock Nut 2",
    "Lock Ring",
    "Lower Head Race",
    "Paint - Black",
    "Paint - Red",
    "Paint - Silver",
    "Paint - Blue",
    "Paint - Yellow",
    "Pinch Bolt",
    "Hex Nut 1",
    "Hex Nut 2",
    "Hex Nut 3",
    "Thin-Jam Hex Nut 1",
    "Thin-Jam Hex Nut 2",
    "Flat Washer 1",
    "Flat Washer 2",
    "Flat Washer 3",
    "Lock Washer 1",
    "Lock Washer 2",
    "Lock Washer 3",
    "Front Reflector Bracket",
    "Rear Reflector Bracket",
    "Mountain Rim",
    "Road Rim",
    "Touring Rim",
    "Bottom Bracket Shell",
    "Cable Housing",
    "Brake Cable",
]
# Parts a frame is welded from (bill of materials level 2).
FRAME_PARTS = ["Chain Stays", "Down Tube", "Head Tube", "Seat Stays", "Seat Tube", "Top Tube", "Decal 1", "Decal 2"]
_PRODUCT_CODES = {
    "Mountain Bikes": "BK-M",
    "Road Bikes": "BK-R",
    "Touring Bikes": "BK-T",
    "Mountain Frames": "FR-M",
    "Road Frames": "FR-R",
    "Touring Frames": "FR-T",
    "Handlebars": "HB",
    "Bottom Brackets": "BB",
    "Brakes": "BR",
    "Chains": "CH",
    "Cranksets": "CS",
    "Derailleurs": "DR",
    "Forks": "FK",
    "Headsets": "HS",
    "Pedals": "PD",
    "Saddles": "SE",
    "Wheels": "WH",
    "Bib-Shorts": "SB",
    "Caps": "CA",
    "Gloves": "GL",
    "Jerseys": "LJ",
    "Shorts": "SH",
    "Socks": "SO",
    "Tights": "TG",
    "Vests": "VE",
    "Bike Racks": "RA",
    "Bike Stands": "ST",
    "Bottles and Cages": "BC",
    "Cleaners": "CL",
    "Fenders": "FE",
    "Helmets": "HL",
    "Hydration Packs": "HY",
    "Lights": "LT",
    "Locks": "LO",
    "Panniers": "PA",
    "Pumps": "PU",
    "Tires and Tubes": "TT",
}
DOCUMENTS = [  # node, title, folder, summary
    ("/", "Documents", True, None),
    ("/1/", "Overview", True, None),
    ("/2/", "Maintenance", True, None),
    ("/3/", "Assembly", True, None),
    (
        "/1/1/",
        "Introduction 1",
        False,
        "Introduction to the Adventure Works Cycles range: what each product line is built for.",
    ),
    (
        "/2/1/",
        "Repair and Service Guidelines",
        False,
        "Guidelines and recommendations for lubricating the required components.",
    ),
    ("/2/2/", "Crank Arm and Tire Maintenance", False, "Cleaning, inspection and replacement of crank arms and tires."),
    ("/2/3/", "Lubrication Maintenance", False, "Chain, derailleur and brake lubrication schedule."),
    (
        "/3/1/",
        "Front Reflector Bracket and Reflector Assembly 3",
        False,
        "Detailed instructions for the front reflector.",
    ),
    (
        "/3/2/",
        "Front Reflector Bracket Installation",
        False,
        "Installing the front reflector bracket on every frame size.",
    ),
    ("/3/3/", "Installing Replacement Pedals", False, "Step by step: removing and replacing pedals."),
    ("/3/4/", "Seat Assembly", False, "Assembling the seat and seat post; torque values."),
    ("/3/5/", "Training Wheels 2", False, "Training wheels for the youth range."),
]
SPECIAL_OFFERS = [  # description, discount, type, category, days from start to today (start, end), min, max, products
    ("No Discount", "0.00", "No Discount", "No Discount", (-1100, 400), 0, None, "all"),
    ("Volume Discount 11 to 14", "0.02", "Volume Discount", "Reseller", (-1100, 400), 11, 14, "none"),
    ("Volume Discount 15 to 24", "0.05", "Volume Discount", "Reseller", (-1100, 400), 15, 24, "none"),
    ("Mountain-100 Clearance Sale", "0.35", "Discontinued Product", "Reseller", (-400, -300), 0, None, "Mountain-100"),
    ("Sport Helmet Discount", "0.10", "Seasonal Discount", "Reseller", (-240, -150), 0, 15, "Sport-100 Helmet"),
    ("Road-650 Overstock", "0.30", "Excess Inventory", "Reseller", (-200, -120), 0, None, "Road-650"),
    ("Touring-3000 Promotion", "0.15", "New Product", "Customer", (-90, 30), 0, None, "Touring-3000"),
    ("Half-Price Pedal Sale", "0.50", "Seasonal Discount", "Customer", (-60, 15), 0, None, "Pedal"),
]
PHOTOS = [
    "no_image_available_small.gif",
    "bikeframe_small.gif",
    "racer02_yellow_f_small.gif",
    "roadster_black_small.gif",
    "mountainbike_silver_small.gif",
    "touring_blue_small.gif",
    "frame_black_small.gif",
    "jersey_logo_small.gif",
    "helmet_sport_small.gif",
    "bottle_small.gif",
    "pedal_small.gif",
    "wheel_small.gif",
    "saddle_small.gif",
    "tire_small.gif",
    "light_small.gif",
]

# The insertion order: parents before children (every foreign key points backwards).
ORDER = [
    "person.countryregion",
    "sales.currency",
    "sales.countryregioncurrency",
    "sales.salesterritory",
    "person.stateprovince",
    "sales.salestaxrate",
    "person.addresstype",
    "person.contacttype",
    "person.phonenumbertype",
    "person.businessentity",
    "person.person",
    "person.emailaddress",
    "person.password",
    "person.personphone",
    "person.address",
    "person.businessentityaddress",
    "person.businessentitycontact",
    "humanresources.department",
    "humanresources.shift",
    "humanresources.employee",
    "humanresources.employeedepartmenthistory",
    "humanresources.employeepayhistory",
    "humanresources.jobcandidate",
    "production.unitmeasure",
    "production.culture",
    "production.productcategory",
    "production.productsubcategory",
    "production.productmodel",
    "production.productdescription",
    "production.productmodelproductdescriptionculture",
    "production.illustration",
    "production.productmodelillustration",
    "production.location",
    "production.scrapreason",
    "production.product",
    "production.productcosthistory",
    "production.productlistpricehistory",
    "production.productinventory",
    "production.productreview",
    "production.productphoto",
    "production.productproductphoto",
    "production.document",
    "production.productdocument",
    "production.billofmaterials",
    "production.workorder",
    "production.workorderrouting",
    "purchasing.shipmethod",
    "purchasing.vendor",
    "purchasing.productvendor",
    "purchasing.purchaseorderheader",
    "purchasing.purchaseorderdetail",
    "sales.salesperson",
    "sales.salespersonquotahistory",
    "sales.salesterritoryhistory",
    "sales.store",
    "sales.customer",
    "sales.creditcard",
    "sales.personcreditcard",
    "sales.currencyrate",
    "sales.specialoffer",
    "sales.specialofferproduct",
    "sales.salesreason",
    "sales.salesorderheader",
    "sales.salesorderdetail",
    "sales.salesorderheadersalesreason",
    "sales.shoppingcartitem",
    "production.transactionhistory",
    "production.transactionhistoryarchive",
]


@dataclass
class Table:
    """One table's generated rows: ``columns`` in the order of each row tuple."""

    columns: tuple[str, ...]
    rows: list[tuple] = field(default_factory=list)

    def add(self, *values) -> None:
        assert len(values) == len(self.columns), (self.columns, values)
        self.rows.append(values)


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def _ascii_word(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower()) or "user"


class _Generator:
    def __init__(self, *, seed: int, now: datetime):
        from faker import Faker

        self.rng = random.Random(seed)
        from faker.providers.person.en_US import Provider as Names

        self.fake = Faker(list(dict.fromkeys(_LOCALES.values())), use_weighting=False)
        self.fake.seed_instance(seed)
        # Faker's US name frequencies, drawn with our own generator (much faster than a Faker call each).
        self._names = {
            kind: (list(names), list(accumulate(names.values())))
            for kind, names in (
                ("female", Names.first_names_female),
                ("male", Names.first_names_male),
                ("last", Names.last_names),
            )
        }
        self.now = now.replace(microsecond=0)
        self.today = self.now.date()
        self.tables: dict[str, Table] = {}
        self._handle_counts: dict[str, int] = defaultdict(int)

    # -- helpers ----------------------------------------------------------------------------------
    def table(self, name: str, *columns: str) -> Table:
        self.tables[name] = Table(columns=columns)
        return self.tables[name]

    def guid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def day(self, days_ago: float) -> datetime:
        """Midnight ``days_ago`` days before today (AdventureWorks keeps dates at midnight)."""
        return datetime.combine(self.today - timedelta(days=int(days_ago)), time.min)

    def modified(self, after: datetime | date, within_days: int = 30) -> datetime:
        """A modification timestamp a little after ``after``, never later than ``FRESH_HOURS`` + 1 h ago."""
        start = after if isinstance(after, datetime) else datetime.combine(after, time.min)
        at = start + timedelta(days=self.rng.randint(0, within_days), hours=self.rng.randint(8, 18))
        return max(start, min(at, self.now - timedelta(hours=FRESH_HOURS + 1)))

    def name(self, kind: str) -> str:
        """A first name (``kind`` "female" or "male") or a last name ("last"), by US frequency."""
        names, cumulative = self._names[kind]
        return self.rng.choices(names, cum_weights=cumulative)[0]

    def full_name(self) -> tuple[str, str]:
        return self.name(self.rng.choice(["female", "male"])), self.name("last")

    def handle(self, first: str) -> str:
        word = _ascii_word(first)
        n = self._handle_counts[word]
        self._handle_counts[word] += 1
        return f"{word}{n}"

    def weighted_state(self) -> int:
        return self.rng.choices(range(1, len(STATES) + 1), weights=[s[4] for s in STATES])[0]

    # -- generation --------------------------------------------------------------------------------
    def generate(self) -> dict[str, Table]:
        self.geography()
        self.people()
        self.human_resources()
        self.production()
        self.purchasing()
        self.sales()
        self.transactions()
        return {name: self.tables[name] for name in ORDER}

    def geography(self) -> None:
        t = self.table("person.countryregion", "countryregioncode", "name", "modifieddate")
        for code, name in COUNTRIES:
            t.add(code, name, self.day(3000))
        t = self.table("sales.currency", "currencycode", "name", "modifieddate")
        for code, name in CURRENCIES:
            t.add(code, name, self.day(3000))
        t = self.table("sales.countryregioncurrency", "countryregioncode", "currencycode", "modifieddate")
        for country, currency in sorted(COUNTRY_CURRENCY.items()):
            t.add(country, currency, self.day(3000))
        t = self.table(
            "sales.salesterritory",
            "territoryid",
            "name",
            "countryregioncode",
            "group",
            "salesytd",
            "saleslastyear",
            "costytd",
            "costlastyear",
            "rowguid",
            "modifieddate",
        )
        for tid, name, country, group in TERRITORIES:
            t.add(tid, name, country, group, money(0), money(0), money(0), money(0), self.guid(), self.day(3000))
        t = self.table(
            "person.stateprovince",
            "stateprovinceid",
            "stateprovincecode",
            "countryregioncode",
            "isonlystateprovinceflag",
            "name",
            "territoryid",
            "rowguid",
            "modifieddate",
        )
        for sid, (code, country, name, territory, _) in enumerate(STATES, start=1):
            t.add(sid, code, country, country == "GB", name, territory, self.guid(), self.day(3000))
        t = self.table(
            "sales.salestaxrate",
            "salestaxrateid",
            "stateprovinceid",
            "taxtype",
            "taxrate",
            "name",
            "rowguid",
            "modifieddate",
        )
        seen_country = set()
        for sid, (_, country, name, _, _) in enumerate(STATES, start=1):
            rate, label = SALES_TAX[country]
            if country == "US":
                rate = money(self.rng.choice(["5.00", "6.25", "7.00", "7.75", "8.75", "9.50"]))
                label = f"{name} State Sales Tax"
            elif country in seen_country:
                continue
            seen_country.add(country)
            t.add(len(t.rows) + 1, sid, self.rng.choice([1, 1, 2, 3]), rate, label[:50], self.guid(), self.day(3000))
        for name, rows in (
            ("person.addresstype", ADDRESS_TYPES),
            ("person.contacttype", CONTACT_TYPES),
            ("person.phonenumbertype", PHONE_TYPES),
        ):
            key = name.split(".")[1] + "id"
            if name == "person.addresstype":
                t = self.table(name, key, "name", "rowguid", "modifieddate")
                for i, label in enumerate(rows, start=1):
                    t.add(i, label, self.guid(), self.day(3000))
            else:
                t = self.table(name, key, "name", "modifieddate")
                for i, label in enumerate(rows, start=1):
                    t.add(i, label, self.day(3000))

    def people(self) -> None:
        """Business entities: persons (employees, store and vendor contacts, general contacts,
        individual customers), then stores, then vendors — each with an address."""
        self.employee_plan = [
            (dept, title)
            for dept, (_, _, titles) in enumerate(DEPARTMENTS, start=1)
            for title, n in titles
            for _ in range(n)
        ]
        n_emp = len(self.employee_plan)
        kinds = (
            ["EM"] * n_emp
            + ["SC"] * SIZES["stores"]
            + ["VC"] * SIZES["vendors"]
            + ["GC"] * SIZES["general_contacts"]
            + ["IN"] * SIZES["individuals"]
        )
        for i, (_, title) in enumerate(self.employee_plan):
            if title == "Sales Representative" or title in SALES_MANAGERS:
                kinds[i] = "SP"
        self.person_kinds = kinds
        n_persons = len(kinds)
        self.store_ids = list(range(n_persons + 1, n_persons + SIZES["stores"] + 1))
        self.vendor_ids = list(range(self.store_ids[-1] + 1, self.store_ids[-1] + SIZES["vendors"] + 1))
        self.employee_ids = list(range(1, n_emp + 1))
        self.store_contact_ids = [i + 1 for i, k in enumerate(kinds) if k == "SC"]
        self.vendor_contact_ids = [i + 1 for i, k in enumerate(kinds) if k == "VC"]
        self.individual_ids = [i + 1 for i, k in enumerate(kinds) if k == "IN"]

        be = self.table("person.businessentity", "businessentityid", "rowguid", "modifieddate")
        for beid in range(1, self.vendor_ids[-1] + 1):
            be.add(beid, self.guid(), self.day(self.rng.randint(400, 3000)))
        person = self.table(
            "person.person",
            "businessentityid",
            "persontype",
            "namestyle",
            "title",
            "firstname",
            "middlename",
            "lastname",
            "suffix",
            "emailpromotion",
            "rowguid",
            "modifieddate",
        )
        email = self.table(
            "person.emailaddress", "businessentityid", "emailaddressid", "emailaddress", "rowguid", "modifieddate"
        )
        password = self.table(
            "person.password", "businessentityid", "passwordhash", "passwordsalt", "rowguid", "modifieddate"
        )
        phone = self.table("person.personphone", "businessentityid", "phonenumber", "phonenumbertypeid", "modifieddate")
        self.person_names: dict[int, tuple[str, str]] = {}
        self.handles: dict[int, str] = {}
        for pid, kind in enumerate(kinds, start=1):
            female = self.rng.random() < 0.5
            first, last = self.name("female" if female else "male"), self.name("last")
            middle_kind = self.rng.choice([None, None, "initial", "name"])
            middle = (
                f"{self.rng.choice('ABCDEFGHJKLMNPRSTW')}."
                if middle_kind == "initial"
                else self.name("female" if female else "male")
                if middle_kind
                else None
            )
            title = self.rng.choice([None] * 8 + (["Ms.", "Mrs."] if female else ["Mr."]))
            suffix = self.rng.choice([None] * 40 + ["Jr.", "Sr.", "II"])
            changed = self.day(self.rng.randint(30, 2000))
            person.add(
                pid,
                kind,
                False,
                title,
                first[:50],
                middle,
                last[:50],
                suffix,
                self.rng.choice([0, 0, 1, 2]),
                self.guid(),
                changed,
            )
            self.person_names[pid] = (first, last)
            self.handles[pid] = self.handle(first)
            email.add(pid, pid, f"{self.handles[pid]}@adventure-works.com"[:50], self.guid(), changed)
            password.add(
                pid,
                base64.b64encode(self.rng.randbytes(32)).decode(),
                base64.b64encode(self.rng.randbytes(6)).decode(),
                self.guid(),
                changed,
            )
            phone.add(
                pid,
                f"{self.rng.randint(200, 989)}-555-01{self.rng.randint(0, 99):02d}",
                self.rng.randint(1, 3),
                changed,
            )

        address = self.table(
            "person.address",
            "addressid",
            "addressline1",
            "addressline2",
            "city",
            "stateprovinceid",
            "postalcode",
            "rowguid",
            "modifieddate",
        )
        link = self.table(
            "person.businessentityaddress", "businessentityid", "addressid", "addresstypeid", "rowguid", "modifieddate"
        )
        self.address_of: dict[int, int] = {}
        self.state_of_address: dict[int, int] = {}
        washington = 1
        for beid in range(1, self.vendor_ids[-1] + 1):
            state = washington if beid <= n_emp and self.rng.random() < 0.9 else self.weighted_state()
            locale = self.fake[_LOCALES[STATES[state - 1][1]]]
            aid = beid
            second = self.rng.random() < 0.1 and hasattr(locale, "secondary_address")
            address.add(
                aid,
                locale.street_address()[:60],
                locale.secondary_address()[:60] if second else None,
                locale.city()[:30],
                state,
                locale.postcode()[:15],
                self.guid(),
                self.day(self.rng.randint(30, 2000)),
            )
            kind_of_address = 2 if beid <= n_persons else 3  # Home / Main Office
            link.add(beid, aid, kind_of_address, self.guid(), self.day(self.rng.randint(30, 2000)))
            self.address_of[beid] = aid
            self.state_of_address[aid] = state
        contact = self.table(
            "person.businessentitycontact", "businessentityid", "personid", "contacttypeid", "rowguid", "modifieddate"
        )
        owner, purchasing_manager = CONTACT_TYPES.index("Owner") + 1, CONTACT_TYPES.index("Purchasing Manager") + 1
        for store, person_id in zip(self.store_ids, self.store_contact_ids, strict=True):
            contact.add(store, person_id, self.rng.choice([owner, purchasing_manager]), self.guid(), self.day(800))
        sales_agent = CONTACT_TYPES.index("Sales Agent") + 1
        for vendor, person_id in zip(self.vendor_ids, self.vendor_contact_ids, strict=True):
            contact.add(vendor, person_id, self.rng.choice([sales_agent, owner]), self.guid(), self.day(800))

    def human_resources(self) -> None:
        t = self.table("humanresources.department", "departmentid", "name", "groupname", "modifieddate")
        for i, (name, group, _) in enumerate(DEPARTMENTS, start=1):
            t.add(i, name, group, self.day(3000))
        t = self.table("humanresources.shift", "shiftid", "name", "starttime", "endtime", "modifieddate")
        for i, (name, start, end) in enumerate(SHIFTS, start=1):
            t.add(i, name, start, end, self.day(3000))

        employee = self.table(
            "humanresources.employee",
            "businessentityid",
            "nationalidnumber",
            "loginid",
            "jobtitle",
            "birthdate",
            "maritalstatus",
            "gender",
            "hiredate",
            "salariedflag",
            "vacationhours",
            "sickleavehours",
            "currentflag",
            "rowguid",
            "modifieddate",
            "organizationnode",
        )
        history = self.table(
            "humanresources.employeedepartmenthistory",
            "businessentityid",
            "departmentid",
            "shiftid",
            "startdate",
            "enddate",
            "modifieddate",
        )
        pay = self.table(
            "humanresources.employeepayhistory",
            "businessentityid",
            "ratechangedate",
            "rate",
            "payfrequency",
            "modifieddate",
        )
        national_ids = self.rng.sample(range(10_000_000, 999_999_999), len(self.employee_ids))
        self.hire_date: dict[int, date] = {}
        self.department_of: dict[int, int] = {}
        self.title_of: dict[int, str] = {}
        position_in_department: dict[int, int] = defaultdict(int)
        latest_pay: list[tuple] = []
        for eid, (dept, title) in zip(self.employee_ids, self.employee_plan, strict=True):
            hired = (
                self.today - timedelta(days=self.rng.randint(200, 5000))
                if eid > 1
                else self.today - timedelta(days=5200)
            )
            born = hired - timedelta(days=self.rng.randint(22 * 365, 45 * 365))
            born = min(born, self.today - timedelta(days=19 * 365))
            manager = any(word in title for word in ("Chief", "Vice President", "Manager", "Supervisor"))
            salaried = manager or title in (
                "Design Engineer",
                "Senior Design Engineer",
                "Research and Development Engineer",
                "Accountant",
                "Database Administrator",
                "Network Administrator",
            )
            position_in_department[dept] += 1
            node = (
                "/"
                if eid == 1
                else (
                    f"/{dept}/" if position_in_department[dept] == 1 else f"/{dept}/{position_in_department[dept] - 1}/"
                )
            )
            female = self.rng.random() < 0.45
            employee.add(
                eid,
                str(national_ids[eid - 1]),
                f"adventure-works\\{self.handles[eid]}",
                title,
                born,
                self.rng.choice("MS"),
                "F" if female else "M",
                hired,
                salaried,
                self.rng.randint(0, 99),
                self.rng.randint(20, 69),
                True,
                self.guid(),
                self.modified(hired, 60),
                node,
            )
            self.hire_date[eid], self.department_of[eid], self.title_of[eid] = hired, dept, title
            shift = 1 if dept != 8 else self.rng.choice([1, 2, 3])
            if self.rng.random() < 0.12 and (self.today - hired).days > 700:  # moved departments once
                moved = hired + timedelta(days=self.rng.randint(300, (self.today - hired).days - 100))
                previous = self.rng.choice([d for d in range(1, len(DEPARTMENTS) + 1) if d != dept])
                history.add(eid, previous, 1, hired, moved - timedelta(days=1), self.modified(moved, 5))
                history.add(eid, dept, shift, moved, None, self.modified(moved, 5))
            else:
                history.add(eid, dept, shift, hired, None, self.modified(hired, 5))
            rate = (self.rng.uniform(28, 60) if salaried else self.rng.uniform(9.5, 25.0)) * (
                2.1 if "Chief" in title else 1.0
            )
            changed = datetime.combine(hired, time.min)
            while True:
                pay.add(eid, changed, money(min(rate, 199.0)), 2 if salaried else 1, self.modified(changed, 10))
                latest_pay.append((eid, changed, len(pay.rows) - 1))
                changed = changed + timedelta(days=self.rng.randint(500, 1100))
                rate *= self.rng.uniform(1.03, 1.12)
                if changed.date() > self.today - timedelta(days=2):
                    break
        # The newest pay change was entered FRESH_HOURS ago (the HR contract's latency SLA is met).
        eid, changed, index = max(latest_pay, key=lambda item: item[1])
        row = pay.rows[index]
        pay.rows[index] = row[:4] + (self.now - timedelta(hours=FRESH_HOURS),)

        candidates = self.table(
            "humanresources.jobcandidate", "jobcandidateid", "businessentityid", "resume", "modifieddate"
        )
        hired_from_candidates = self.rng.sample(self.employee_ids[20:], 2)
        for cid in range(1, SIZES["job_candidates"] + 1):
            employee_id = hired_from_candidates[cid - 1] if cid <= 2 else None
            first, last = self.person_names[employee_id] if employee_id else self.full_name()
            skills = ", ".join(
                self.rng.sample(
                    [
                        "machining",
                        "welding",
                        "painting",
                        "assembly",
                        "logistics",
                        "accounting",
                        "sales",
                        "customer service",
                        "CAD",
                        "quality control",
                    ],
                    3,
                )
            )
            resume = (
                f"<Resume><Name><First>{escape(first)}</First><Last>{escape(last)}</Last></Name>"
                f"<Skills>{escape(skills)}</Skills><Employment><JobTitle>{escape(self.fake['en_US'].job())}</JobTitle>"
                f"</Employment></Resume>"
            )
            candidates.add(cid, employee_id, resume, self.day(self.rng.randint(30, 900)))

    def production(self) -> None:
        old = self.day(3000)
        t = self.table("production.unitmeasure", "unitmeasurecode", "name", "modifieddate")
        for code, name in UNIT_MEASURES:
            t.add(code, name, old)
        t = self.table("production.culture", "cultureid", "name", "modifieddate")
        for code, name in CULTURES:
            t.add(code, name, old)
        categories = self.table("production.productcategory", "productcategoryid", "name", "rowguid", "modifieddate")
        subcategories = self.table(
            "production.productsubcategory",
            "productsubcategoryid",
            "productcategoryid",
            "name",
            "rowguid",
            "modifieddate",
        )
        models = self.table("production.productmodel", "productmodelid", "name", "rowguid", "modifieddate")
        descriptions = self.table(
            "production.productdescription", "productdescriptionid", "description", "rowguid", "modifieddate"
        )
        model_cultures = self.table(
            "production.productmodelproductdescriptionculture",
            "productmodelid",
            "productdescriptionid",
            "cultureid",
            "modifieddate",
        )
        products = self.table(
            "production.product",
            "productid",
            "name",
            "productnumber",
            "makeflag",
            "finishedgoodsflag",
            "color",
            "safetystocklevel",
            "reorderpoint",
            "standardcost",
            "listprice",
            "size",
            "sizeunitmeasurecode",
            "weightunitmeasurecode",
            "weight",
            "daystomanufacture",
            "productline",
            "class",
            "style",
            "productsubcategoryid",
            "productmodelid",
            "sellstartdate",
            "sellenddate",
            "rowguid",
            "modifieddate",
        )
        self.products: dict[int, dict] = {}
        numbers: set[str] = set()
        en, fr = self.fake["en_US"], self.fake["fr_FR"]

        def product_number(prefix: str, name: str, size: str | None) -> str:
            initials = "".join(w[0] for w in re.findall(r"[A-Za-z0-9]+", name))[:3].upper()
            while True:
                joint = "" if "-" in prefix else "-"  # BK-M + M68 -> BK-MM68, like AdventureWorks' BK-M68B-38
                code = f"{prefix}{joint}{initials}{self.rng.randint(10, 99)}" + (f"-{size}" if size else "")
                if code not in numbers:
                    numbers.add(code)
                    return code[:25]

        subcategory_id = model_id = 0
        for category_id, (category, subs) in enumerate(CATALOG.items(), start=1):
            categories.add(category_id, category, self.guid(), old)
            for subcategory, entries in subs.items():
                subcategory_id += 1
                subcategories.add(subcategory_id, category_id, subcategory, self.guid(), old)
                for model, line, klass, style, price, weight, sizes, colours in entries:
                    model_id += 1
                    models.add(model_id, model[:50], self.guid(), old)
                    for culture, text in (
                        ("en", f"{model}: {en.sentence(nb_words=14)}"),
                        ("fr", f"{model} : {fr.sentence(nb_words=14)}"),
                    ):
                        descriptions.add(len(descriptions.rows) + 1, text[:400], self.guid(), old)
                        model_cultures.add(model_id, len(descriptions.rows), culture, old)
                    is_bike, is_frame = category == "Bikes", subcategory.endswith("Frames")
                    make = is_bike or is_frame or category == "Components" and self.rng.random() < 0.3
                    start = self.day(self.rng.randint(900, 2600))
                    discontinued = self.rng.random() < 0.08
                    for colour in colours or [None]:
                        for size in sizes or [None]:
                            name = (
                                model
                                + (f" {colour}" if colour and is_bike else f" - {colour}" if colour else "")
                                + (f", {size}" if size else "")
                            )
                            list_price = money(price * (1 + (int(size) - 44) * 0.004 if size and size.isdigit() else 1))
                            cost = money(float(list_price) * self.rng.uniform(0.45, 0.62))
                            safety = 100 if is_bike else self.rng.choice([4, 500, 800, 1000])
                            pid = len(products.rows) + 1
                            products.add(
                                pid,
                                name[:50],
                                product_number(_PRODUCT_CODES[subcategory], model, size),
                                make,
                                True,
                                colour,
                                safety,
                                max(1, safety * 3 // 4),
                                cost,
                                list_price,
                                size,
                                "CM" if size and size.isdigit() else None,
                                ("LB" if is_bike else "G") if weight else None,
                                money(weight * (1 + self.rng.uniform(-0.05, 0.05)) if is_bike else weight * 453.6)
                                if weight
                                else None,
                                4 if is_bike else 1 if make else 0,
                                line,
                                klass,
                                style,
                                subcategory_id,
                                model_id,
                                start,
                                start + timedelta(days=self.rng.randint(500, 800)) if discontinued else None,
                                self.guid(),
                                self.modified(start, 60),
                            )
                            self.products[pid] = {
                                "name": name,
                                "category": category,
                                "subcategory": subcategory,
                                "model": model,
                                "list": list_price,
                                "cost": cost,
                                "make": make,
                                "sell": not discontinued,
                                "start": start,
                                "line": line,
                            }
        for part in RAW_PARTS:
            pid = len(products.rows) + 1
            make = part.startswith(
                ("Chain Stays", "Down Tube", "Head Tube", "Seat Stays", "Seat Tube", "Top Tube", "Fork")
            )
            start = self.day(self.rng.randint(1500, 2600))
            products.add(
                pid,
                part,
                product_number(part[:2].upper(), part, None),
                make,
                False,
                None,
                self.rng.choice([500, 800, 1000]),
                self.rng.choice([375, 600, 750]),
                money(0),
                money(0),
                None,
                None,
                None,
                None,
                1 if make else 0,
                None,
                None,
                None,
                None,
                None,
                start,
                None,
                self.guid(),
                self.modified(start),
            )
            self.products[pid] = {
                "name": part,
                "category": "",
                "subcategory": "",
                "model": "",
                "list": money(0),
                "cost": money(0),
                "make": make,
                "sell": False,
                "start": start,
                "line": None,
            }

        t = self.table("production.illustration", "illustrationid", "diagram", "modifieddate")
        for i in range(1, 6):
            t.add(i, None, old)
        t = self.table("production.productmodelillustration", "productmodelid", "illustrationid", "modifieddate")
        for model, illustration in sorted({(self.rng.randint(1, model_id), self.rng.randint(1, 5)) for _ in range(8)}):
            t.add(model, illustration, old)
        t = self.table("production.location", "locationid", "name", "costrate", "availability", "modifieddate")
        for i, (name, rate, availability, _) in enumerate(LOCATIONS, start=1):
            t.add(i, name, money(rate), money(availability), old)
        self.work_locations = [i for i, loc in enumerate(LOCATIONS, start=1) if loc[3]]
        t = self.table("production.scrapreason", "scrapreasonid", "name", "modifieddate")
        for i, name in enumerate(SCRAP_REASONS, start=1):
            t.add(i, name, old)

        cost_history = self.table(
            "production.productcosthistory", "productid", "startdate", "enddate", "standardcost", "modifieddate"
        )
        price_history = self.table(
            "production.productlistpricehistory", "productid", "startdate", "enddate", "listprice", "modifieddate"
        )
        inventory = self.table(
            "production.productinventory",
            "productid",
            "locationid",
            "shelf",
            "bin",
            "quantity",
            "rowguid",
            "modifieddate",
        )
        for pid, p in self.products.items():
            if p["list"] > 0:
                changes = [p["start"]] + sorted(
                    p["start"] + timedelta(days=d) for d in self.rng.sample(range(200, 800), self.rng.randint(0, 2))
                )
                changes = [c for c in changes if c.date() <= self.today]
                for i, start in enumerate(changes):
                    end = changes[i + 1] - timedelta(days=1) if i + 1 < len(changes) else None
                    factor = Decimal(str(round(0.92 + 0.04 * i, 2))) if end else Decimal(1)
                    cost_history.add(pid, start, end, money(p["cost"] * factor), self.modified(start, 10))
                    price_history.add(pid, start, end, money(p["list"] * factor), self.modified(start, 10))
            stores = [7] if p["category"] in ("Bikes", "Clothing", "Accessories") else [1, 5, 6]
            for location in self.rng.sample(stores, min(len(stores), self.rng.randint(1, 2))):
                inventory.add(
                    pid,
                    location,
                    self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXY") if location != 7 else "N/A",
                    self.rng.randint(0, 100),
                    self.rng.randint(0, 800),
                    self.guid(),
                    self.modified(self.day(60), 50),
                )

        reviews = self.table(
            "production.productreview",
            "productreviewid",
            "productid",
            "reviewername",
            "reviewdate",
            "emailaddress",
            "rating",
            "comments",
            "modifieddate",
        )
        sellable = [pid for pid, p in self.products.items() if p["category"] in ("Bikes", "Accessories", "Clothing")]
        for rid in range(1, SIZES["reviews"] + 1):
            name = " ".join(self.full_name())
            when = self.day(self.rng.randint(1, 700))
            reviews.add(
                rid,
                self.rng.choice(sellable),
                name[:50],
                when,
                f"{_ascii_word(name.split()[0])}@example.com",
                self.rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 2, 4, 5])[0],
                en.paragraph(nb_sentences=4)[:3850],
                when,
            )
        photos = self.table(
            "production.productphoto", "productphotoid", "thumbnailphotofilename", "largephotofilename", "modifieddate"
        )
        for i, filename in enumerate(PHOTOS, start=1):
            photos.add(i, filename, filename.replace("_small", "_large"), old)
        product_photos = self.table(
            "production.productproductphoto", "productid", "productphotoid", "primary", "modifieddate"
        )
        for pid, p in self.products.items():
            photo = {
                "Mountain Bikes": 5,
                "Road Bikes": 4,
                "Touring Bikes": 6,
                "Jerseys": 8,
                "Helmets": 9,
                "Pedals": 11,
                "Wheels": 12,
                "Saddles": 13,
            }.get(p["subcategory"], 7 if p["subcategory"].endswith("Frames") else 1)
            product_photos.add(pid, photo, True, old)
        documents = self.table(
            "production.document",
            "documentnode",
            "title",
            "owner",
            "folderflag",
            "filename",
            "fileextension",
            "revision",
            "changenumber",
            "status",
            "documentsummary",
            "rowguid",
            "modifieddate",
        )
        control = [e for e in self.employee_ids if DEPARTMENTS[self.department_of[e] - 1][0] == "Document Control"]
        for node, title, folder, summary in DOCUMENTS:
            documents.add(
                node,
                title,
                self.rng.choice(control),
                folder,
                title if folder else f"{title}.doc",
                "" if folder else ".doc",
                "0" if folder else str(self.rng.randint(0, 3)),
                self.rng.randint(0, 30),
                2 if folder else self.rng.randint(1, 3),
                summary,
                self.guid(),
                self.day(self.rng.randint(100, 2000)),
            )
        product_documents = self.table("production.productdocument", "productid", "documentnode", "modifieddate")
        files = [d[0] for d in DOCUMENTS if not d[2]]
        for pid, node in sorted({(self.rng.choice(sellable), self.rng.choice(files)) for _ in range(30)}):
            product_documents.add(pid, node, old)

        self.bill_of_materials()
        self.work_orders()

    def _product_ids(self, predicate) -> list[int]:
        return [pid for pid, p in self.products.items() if predicate(p)]

    def bill_of_materials(self) -> None:
        bom = self.table(
            "production.billofmaterials",
            "billofmaterialsid",
            "productassemblyid",
            "componentid",
            "startdate",
            "enddate",
            "unitmeasurecode",
            "bomlevel",
            "perassemblyqty",
            "modifieddate",
        )
        by_name = {p["name"]: pid for pid, p in self.products.items()}
        parts_for = {
            sub: self._product_ids(lambda p, s=sub: p["subcategory"] == s)
            for sub in (
                "Handlebars",
                "Brakes",
                "Chains",
                "Cranksets",
                "Derailleurs",
                "Forks",
                "Headsets",
                "Pedals",
                "Saddles",
                "Wheels",
                "Mountain Frames",
                "Road Frames",
                "Touring Frames",
            )
        }

        def add(assembly, component, level, qty, start):
            bom.add(
                len(bom.rows) + 1, assembly, component, start, None, "EA", level, money(qty), self.modified(start, 5)
            )

        for pid, p in self.products.items():
            if p["category"] == "Bikes":
                start = p["start"]
                add(None, pid, 0, 1, start)
                kind = p["subcategory"].split()[0]  # Mountain, Road, Touring
                frames = [f for f in parts_for[f"{kind} Frames"]] or parts_for["Road Frames"]
                add(pid, self.rng.choice(frames), 1, 1, start)
                for sub in (
                    "Handlebars",
                    "Chains",
                    "Cranksets",
                    "Derailleurs",
                    "Forks",
                    "Headsets",
                    "Pedals",
                    "Saddles",
                ):
                    candidates = [
                        c for c in parts_for[sub] if self.products[c]["line"] in (kind[0], None)
                    ] or parts_for[sub]
                    add(pid, self.rng.choice(candidates), 1, 1, start)
                wheels = [w for w in parts_for["Wheels"] if self.products[w]["line"] == kind[0]] or parts_for["Wheels"]
                for wheel in sorted(set(self.rng.sample(wheels, min(2, len(wheels))))):
                    add(pid, wheel, 1, 1, start)
            elif p["subcategory"].endswith("Frames"):
                for part in FRAME_PARTS:
                    add(pid, by_name[part], 2, 1 if "Decal" not in part else 2, p["start"])

    def work_orders(self) -> None:
        orders = self.table(
            "production.workorder",
            "workorderid",
            "productid",
            "orderqty",
            "scrappedqty",
            "startdate",
            "enddate",
            "duedate",
            "scrapreasonid",
            "modifieddate",
        )
        routing = self.table(
            "production.workorderrouting",
            "workorderid",
            "productid",
            "operationsequence",
            "locationid",
            "scheduledstartdate",
            "scheduledenddate",
            "actualstartdate",
            "actualenddate",
            "actualresourcehrs",
            "plannedcost",
            "actualcost",
            "modifieddate",
        )
        made = self._product_ids(lambda p: p["make"])
        assembled = set(self._product_ids(lambda p: p["category"] == "Bikes" or p["subcategory"].endswith("Frames")))
        self.work_order_rows: list[tuple[int, int, int, datetime]] = []
        days = sorted((self.rng.randint(1, SIZES["history_days"]) for _ in range(SIZES["work_orders"])), reverse=True)
        for wid, days_ago in enumerate(days, start=1):
            pid = self.rng.choice(made)
            qty = self.rng.randint(1, 60) if pid in assembled else self.rng.randint(20, 600)
            scrapped = min(self.rng.choice([0] * 12 + [1, 2, 3]), qty // 2)
            start = self.day(days_ago)
            done = days_ago > 12
            end = start + timedelta(days=self.rng.randint(2, 12)) if done else None
            orders.add(
                wid,
                pid,
                qty,
                scrapped,
                start,
                end,
                start + timedelta(days=11),
                self.rng.randint(1, len(SCRAP_REASONS)) if scrapped else None,
                self.modified(end or start, 1),
            )
            self.work_order_rows.append((wid, pid, qty, start))
            if pid in assembled:
                for seq, location in enumerate(
                    sorted(self.rng.sample(self.work_locations, self.rng.randint(1, 3))), start=1
                ):
                    sched_start = start + timedelta(days=seq - 1)
                    hours = money(self.rng.uniform(1, 4))
                    planned = money(float(hours) * float(LOCATIONS[location - 1][1]) + 1)
                    routing.add(
                        wid,
                        pid,
                        seq,
                        location,
                        sched_start,
                        sched_start + timedelta(days=1),
                        sched_start if done else None,
                        sched_start + timedelta(days=1) if done else None,
                        hours if done else None,
                        planned,
                        money(float(planned) * self.rng.uniform(0.9, 1.2)) if done else None,
                        self.modified(sched_start, 2),
                    )

    def purchasing(self) -> None:
        t = self.table(
            "purchasing.shipmethod", "shipmethodid", "name", "shipbase", "shiprate", "rowguid", "modifieddate"
        )
        for i, (name, base, rate) in enumerate(SHIP_METHODS, start=1):
            t.add(i, name, money(base), money(rate), self.guid(), self.day(3000))
        vendors = self.table(
            "purchasing.vendor",
            "businessentityid",
            "accountnumber",
            "name",
            "creditrating",
            "preferredvendorstatus",
            "activeflag",
            "purchasingwebserviceurl",
            "modifieddate",
        )
        suffixes = [
            "Bike Company",
            "Cycles",
            "Bicycle Supply",
            "Sport Products",
            "Components",
            "Bike Works",
            "Wheels",
            "Metal Works",
            "Sports",
            "Cycle Parts",
        ]
        accounts: set[str] = set()
        for vid in self.vendor_ids:
            name = f"{self.name('last')} {self.rng.choice(suffixes)}"[:50]
            stem = re.sub(r"[^A-Z]", "", name.upper())[:8] or "VENDOR"
            n = 1
            while f"{stem}{n:04d}" in accounts:
                n += 1
            accounts.add(f"{stem}{n:04d}")
            rating = self.rng.choices([1, 2, 3, 4, 5], weights=[10, 4, 2, 1, 1])[0]
            url = (
                f"https://www.{_ascii_word(name.split()[0])}{_ascii_word(name.split()[-1])}.example.com/"
                if self.rng.random() < 0.2
                else None
            )
            vendors.add(vid, f"{stem}{n:04d}", name, rating, rating <= 2, self.rng.random() < 0.95, url, self.day(1500))
        supplies = self.table(
            "purchasing.productvendor",
            "productid",
            "businessentityid",
            "averageleadtime",
            "standardprice",
            "lastreceiptcost",
            "lastreceiptdate",
            "minorderqty",
            "maxorderqty",
            "onorderqty",
            "unitmeasurecode",
            "modifieddate",
        )
        bought = self._product_ids(lambda p: not p["make"] and p["category"] != "Bikes")
        self.vendor_products: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
        for pid in bought:
            price = self.products[pid]["cost"] if self.products[pid]["cost"] > 0 else money(self.rng.uniform(0.2, 60))
            for vid in self.rng.sample(self.vendor_ids, self.rng.choice([1, 1, 2])):
                standard = money(float(price) * self.rng.uniform(0.9, 1.1)) or CENT
                low = self.rng.choice([1, 100, 500])
                supplies.add(
                    pid,
                    vid,
                    self.rng.randint(10, 120),
                    max(standard, CENT),
                    money(float(standard) * 1.05) or CENT,
                    self.day(self.rng.randint(5, 200)),
                    low,
                    low * self.rng.choice([5, 10, 20]),
                    self.rng.choice([None, 0, low * 3]),
                    self.rng.choice(["EA", "EA", "CTN", "DZ", "PC"]),
                    self.day(self.rng.randint(5, 200)),
                )
                self.vendor_products[vid].append((pid, max(standard, CENT)))
        buyers = [e for e in self.employee_ids if DEPARTMENTS[self.department_of[e] - 1][0] == "Purchasing"]
        headers = self.table(
            "purchasing.purchaseorderheader",
            "purchaseorderid",
            "revisionnumber",
            "status",
            "employeeid",
            "vendorid",
            "shipmethodid",
            "orderdate",
            "shipdate",
            "subtotal",
            "taxamt",
            "freight",
            "modifieddate",
        )
        details = self.table(
            "purchasing.purchaseorderdetail",
            "purchaseorderid",
            "purchaseorderdetailid",
            "duedate",
            "orderqty",
            "productid",
            "unitprice",
            "receivedqty",
            "rejectedqty",
            "modifieddate",
        )
        self.purchase_lines: list[tuple[int, int, int, int, Decimal, datetime]] = []
        suppliers = [v for v in self.vendor_ids if self.vendor_products[v]]
        days = sorted(
            (self.rng.randint(1, SIZES["history_days"]) for _ in range(SIZES["purchase_orders"])), reverse=True
        )
        for poid, days_ago in enumerate(days, start=1):
            vendor = self.rng.choice(suppliers)
            ordered = self.day(days_ago)
            status = 4 if days_ago > 20 else self.rng.choice([1, 2, 2, 3])
            if days_ago > 20 and self.rng.random() < 0.03:
                status = 3
            shipped = ordered + timedelta(days=9) if status in (2, 4) and days_ago > 9 else None
            subtotal = Decimal(0)
            for pid, price in self.rng.sample(
                self.vendor_products[vendor], min(len(self.vendor_products[vendor]), self.rng.randint(1, 4))
            ):
                qty = self.rng.choice([3, 60, 120, 330, 550])
                received = Decimal(qty) if status == 4 else Decimal(0)
                rejected = Decimal(self.rng.choice([0] * 15 + [1, 2, qty // 10])) if status == 4 else Decimal(0)
                detail_id = len(details.rows) + 1
                details.add(
                    poid,
                    detail_id,
                    ordered + timedelta(days=14),
                    qty,
                    pid,
                    price,
                    received,
                    rejected,
                    self.modified(ordered, 10),
                )
                subtotal += money(price * qty)
                self.purchase_lines.append((poid, detail_id, pid, qty, price, ordered))
            headers.add(
                poid,
                self.rng.choice([0, 0, 1, 2]),
                status,
                self.rng.choice(buyers),
                vendor,
                self.rng.randint(1, len(SHIP_METHODS)),
                ordered,
                shipped,
                subtotal,
                money(subtotal * Decimal("0.08")),
                money(subtotal * Decimal("0.025")),
                self.modified(shipped or ordered, 3),
            )

    def sales(self) -> None:
        reps = [e for e in self.employee_ids if self.title_of[e] == "Sales Representative"]
        managers = [e for e in self.employee_ids if self.title_of[e] in SALES_MANAGERS]
        people = self.table(
            "sales.salesperson",
            "businessentityid",
            "territoryid",
            "salesquota",
            "bonus",
            "commissionpct",
            "salesytd",
            "saleslastyear",
            "rowguid",
            "modifieddate",
        )
        quotas = self.table(
            "sales.salespersonquotahistory", "businessentityid", "quotadate", "salesquota", "rowguid", "modifieddate"
        )
        territory_history = self.table(
            "sales.salesterritoryhistory",
            "businessentityid",
            "territoryid",
            "startdate",
            "enddate",
            "rowguid",
            "modifieddate",
        )
        self.rep_territory: dict[int, int | None] = {}
        for i, eid in enumerate(reps + managers):
            territory = (i % len(TERRITORIES)) + 1 if eid in reps else None
            self.rep_territory[eid] = territory
            quota = money(self.rng.choice([250000, 300000])) if territory else None
            people.add(
                eid,
                territory,
                quota,
                money(self.rng.choice([0, 500, 2000, 4100])) if territory else money(0),
                Decimal(str(self.rng.choice(["0.010", "0.012", "0.015", "0.019"]))) if territory else money(0),
                money(0),
                money(0),
                self.guid(),
                self.day(400),
            )
            if territory:
                start = datetime.combine(max(self.hire_date[eid], self.today - timedelta(days=1500)), time.min)
                if self.rng.random() < 0.2:
                    moved = start + timedelta(days=300)
                    earlier = territory % len(TERRITORIES) + 1
                    territory_history.add(
                        eid, earlier, start, moved - timedelta(days=1), self.guid(), self.modified(moved, 3)
                    )
                    start = moved
                territory_history.add(eid, territory, start, None, self.guid(), self.modified(start, 3))
                quarter = date(self.today.year, 3 * ((self.today.month - 1) // 3) + 1, 1)
                for q in range(8):
                    year, month = quarter.year, quarter.month - 3 * q
                    while month < 1:
                        month += 12
                        year -= 1
                    when = datetime(year, month, 1)
                    quotas.add(eid, when, money(self.rng.randint(40, 120) * 1000), self.guid(), self.modified(when, 5))
        stores = self.table("sales.store", "businessentityid", "name", "salespersonid", "rowguid", "modifieddate")
        store_words = [
            "Cycle Shop",
            "Bike Store",
            "Sporting Goods",
            "Bicycle Company",
            "Outdoors",
            "Bike Shop",
            "Cycle Center",
            "Wheels",
            "Riding Supplies",
            "Sports Center",
        ]
        self.store_rep: dict[int, int] = {}
        territory_of_state = {i: s[3] for i, s in enumerate(STATES, start=1)}
        for sid in self.store_ids:
            territory = territory_of_state[self.state_of_address[self.address_of[sid]]]
            rep = next((r for r, t in self.rep_territory.items() if t == territory), self.rng.choice(reps))
            self.store_rep[sid] = rep
            name = f"{self.name('last')} {self.rng.choice(store_words)}"
            stores.add(sid, name[:50], rep, self.guid(), self.day(self.rng.randint(300, 1500)))
        customers = self.table(
            "sales.customer", "customerid", "personid", "storeid", "territoryid", "rowguid", "modifieddate"
        )
        self.customers: list[dict] = []
        for pid in self.individual_ids:
            address = self.address_of[pid]
            cid = len(customers.rows) + 1
            territory = territory_of_state[self.state_of_address[address]]
            customers.add(cid, pid, None, territory, self.guid(), self.day(self.rng.randint(30, 1500)))
            self.customers.append({"id": cid, "person": pid, "store": None, "territory": territory, "address": address})
        for sid, contact_id in zip(self.store_ids, self.store_contact_ids, strict=True):
            address = self.address_of[sid]
            cid = len(customers.rows) + 1
            territory = territory_of_state[self.state_of_address[address]]
            customers.add(cid, contact_id, sid, territory, self.guid(), self.day(self.rng.randint(30, 1500)))
            self.customers.append(
                {"id": cid, "person": contact_id, "store": sid, "territory": territory, "address": address}
            )
        cards = self.table(
            "sales.creditcard", "creditcardid", "cardtype", "cardnumber", "expmonth", "expyear", "modifieddate"
        )
        person_cards = self.table("sales.personcreditcard", "businessentityid", "creditcardid", "modifieddate")
        self.card_of: dict[int, int] = {}
        for pid in self.individual_ids:
            card_id = len(cards.rows) + 1
            changed = self.day(self.rng.randint(30, 1500))
            cards.add(
                card_id,
                self.rng.choice(CARD_TYPES),
                "".join(str(self.rng.randint(0, 9)) for _ in range(14)),
                self.rng.randint(1, 12),
                self.today.year + self.rng.randint(0, 4),
                changed,
            )
            person_cards.add(pid, card_id, changed)
            self.card_of[pid] = card_id

        offers = self.table(
            "sales.specialoffer",
            "specialofferid",
            "description",
            "discountpct",
            "type",
            "category",
            "startdate",
            "enddate",
            "minqty",
            "maxqty",
            "rowguid",
            "modifieddate",
        )
        offer_products = self.table(
            "sales.specialofferproduct", "specialofferid", "productid", "rowguid", "modifieddate"
        )
        sellable = self._product_ids(
            lambda p: p["list"] > 0 and p["category"] in ("Bikes", "Clothing", "Accessories", "Components")
        )
        self.offers_of: dict[int, list[tuple[int, Decimal, datetime, datetime]]] = defaultdict(list)
        for oid, (description, pct, kind, category, (start, end), low, high, which) in enumerate(
            SPECIAL_OFFERS, start=1
        ):
            starts, ends = self.day(-start), self.day(-end)
            offers.add(oid, description, Decimal(pct), kind, category, starts, ends, low, high, self.guid(), starts)
            matching = (
                sellable
                if which == "all"
                else []
                if which == "none"
                else [p for p in sellable if which in self.products[p]["name"]]
            )
            for pid in matching:
                offer_products.add(oid, pid, self.guid(), starts)
                self.offers_of[pid].append((oid, Decimal(pct), starts, ends))
        reasons = self.table("sales.salesreason", "salesreasonid", "name", "reasontype", "modifieddate")
        for i, (name, kind) in enumerate(SALES_REASONS, start=1):
            reasons.add(i, name, kind, self.day(3000))
        self.sales_orders(sellable)

    def _rate_id(self, currency: str, day: datetime) -> int:
        key = (currency, day)
        if key not in self._rates:
            base = USD_RATE[currency]
            wave = 1 + 0.03 * math.sin(day.toordinal() / 40) + self.rng.uniform(-0.005, 0.005)
            average = Decimal(str(round(base * wave, 4)))
            self._rates[key] = (
                len(self._rates) + 1,
                average,
                Decimal(str(round(float(average) * (1 + self.rng.uniform(-0.003, 0.003)), 4))),
            )
        return self._rates[key][0]

    def sales_orders(self, sellable: list[int]) -> None:
        headers = self.table(
            "sales.salesorderheader",
            "salesorderid",
            "revisionnumber",
            "orderdate",
            "duedate",
            "shipdate",
            "status",
            "onlineorderflag",
            "purchaseordernumber",
            "accountnumber",
            "customerid",
            "salespersonid",
            "territoryid",
            "billtoaddressid",
            "shiptoaddressid",
            "shipmethodid",
            "creditcardid",
            "creditcardapprovalcode",
            "currencyrateid",
            "subtotal",
            "taxamt",
            "freight",
            "totaldue",
            "comment",
            "rowguid",
            "modifieddate",
        )
        lines = self.table(
            "sales.salesorderdetail",
            "salesorderid",
            "salesorderdetailid",
            "carriertrackingnumber",
            "orderqty",
            "productid",
            "specialofferid",
            "unitprice",
            "unitpricediscount",
            "rowguid",
            "modifieddate",
        )
        order_reasons = self.table("sales.salesorderheadersalesreason", "salesorderid", "salesreasonid", "modifieddate")
        self._rates: dict[tuple[str, datetime], tuple[int, Decimal, Decimal]] = {}
        country_of_territory = {t[0]: t[2] for t in TERRITORIES}
        retail = [p for p in sellable if self.products[p]["category"] != "Components"]
        store_customers = [c for c in self.customers if c["store"]]
        individual_customers = [c for c in self.customers if not c["store"]]
        n_orders = SIZES["sales_orders"]
        days = sorted((self.rng.randint(0, SIZES["history_days"]) for _ in range(n_orders)), reverse=True)
        old_enough = [i for i, d in enumerate(days) if d > 30]
        planted = set(self.rng.sample(old_enough, BAD_SHIPPED_ORDERS))
        self.sales_lines: list[tuple[int, int, int, int, Decimal, datetime]] = []
        for index, days_ago in enumerate(days):
            soid = index + 1
            store_order = self.rng.random() < 0.2
            customer = self.rng.choice(store_customers if store_order else individual_customers)
            ordered = self.day(days_ago)
            if days_ago == 0:
                ordered = min(datetime.combine(self.today, time(9)), self.now - timedelta(hours=FRESH_HOURS))
            status = 5 if days_ago > 7 else self.rng.choice([1, 1, 2])
            if status == 5 and self.rng.random() < 0.01:
                status = 6  # cancelled
            shipped = ordered + timedelta(days=7) if status == 5 else None
            if index in planted:
                shipped = None  # shipped, but nobody recorded when: the Sales contract's rule catches it
            currency = COUNTRY_CURRENCY[country_of_territory[customer["territory"]]]
            rate_id = self._rate_id(currency, ordered) if currency != "USD" else None
            subtotal = Decimal(0)
            for _ in range(
                self.rng.randint(2, 8) if store_order else self.rng.choices([1, 2, 3], weights=[6, 3, 1])[0]
            ):
                pid = self.rng.choice(sellable if store_order else retail)
                qty = self.rng.randint(1, 10) if store_order else self.rng.choice([1, 1, 1, 2])
                unit = money(self.products[pid]["list"] * (Decimal("0.6") if store_order else 1))
                offer, discount = 1, Decimal("0.00")
                active = [o for o in self.offers_of[pid] if o[0] != 1 and o[2] <= ordered <= o[3]]
                if active and self.rng.random() < 0.6:
                    offer, discount = active[0][0], active[0][1]
                detail_id = len(lines.rows) + 1
                tracking = (
                    (
                        f"{self.rng.randint(1000, 9999):04X}-{self.rng.randint(0, 0xFFF):03X}{self.rng.choice('ABCDEF')}-"
                        f"{self.rng.randint(10, 99)}"
                    )
                    if store_order
                    else None
                )
                lines.add(
                    soid, detail_id, tracking, qty, pid, offer, unit, discount, self.guid(), self.modified(ordered, 0)
                )
                subtotal += money(unit * (1 - discount) * qty)
                self.sales_lines.append((soid, detail_id, pid, qty, unit, ordered))
            tax, freight = money(subtotal * Decimal("0.08")), money(subtotal * Decimal("0.025"))
            person = customer["person"]
            headers.add(
                soid,
                8 if days_ago > 365 else 9,
                ordered,
                ordered + timedelta(days=12),
                shipped,
                status,
                not store_order,
                f"PO{self.rng.randint(10**9, 10**10 - 1)}"[:25] if store_order else None,
                f"10-4020-{customer['id']:06d}",
                customer["id"],
                self.store_rep[customer["store"]] if store_order else None,
                customer["territory"],
                customer["address"],
                customer["address"],
                5 if store_order else 1,
                None if store_order else self.card_of[person],
                None if store_order else f"{self.rng.randint(100000, 999999)}Vi{self.rng.randint(10000, 99999)}",
                rate_id,
                subtotal,
                tax,
                freight,
                subtotal + tax + freight,
                None,
                self.guid(),
                self.modified(shipped or ordered, 0),
            )
            if not store_order and self.rng.random() < 0.75:
                for reason in sorted(self.rng.sample(range(1, len(SALES_REASONS) + 1), self.rng.choice([1, 1, 2]))):
                    order_reasons.add(soid, reason, self.modified(ordered, 0))
        rates = self.table(
            "sales.currencyrate",
            "currencyrateid",
            "currencyratedate",
            "fromcurrencycode",
            "tocurrencycode",
            "averagerate",
            "endofdayrate",
            "modifieddate",
        )
        for (currency, day), (rid, average, end_of_day) in sorted(self._rates.items(), key=lambda item: item[1][0]):
            rates.add(rid, day, "USD", currency, average, end_of_day, day)
        carts = self.table(
            "sales.shoppingcartitem",
            "shoppingcartitemid",
            "shoppingcartid",
            "quantity",
            "productid",
            "datecreated",
            "modifieddate",
        )
        for i in range(1, 9):
            created = self.now - timedelta(days=self.rng.randint(1, 20), hours=self.rng.randint(0, 23))
            carts.add(
                i,
                str(self.rng.randint(10000, 99999)),
                self.rng.randint(1, 4),
                self.rng.choice(retail),
                created,
                created,
            )

    def transactions(self) -> None:
        """Inventory movements: sales (S), purchases (P) and work orders (W) of the last 180 days
        in ``transactionhistory``, older ones (a sample) in ``transactionhistoryarchive``."""
        recent = self.table(
            "production.transactionhistory",
            "transactionid",
            "productid",
            "referenceorderid",
            "referenceorderlineid",
            "transactiondate",
            "transactiontype",
            "quantity",
            "actualcost",
            "modifieddate",
        )
        archive = self.table(
            "production.transactionhistoryarchive",
            "transactionid",
            "productid",
            "referenceorderid",
            "referenceorderlineid",
            "transactiondate",
            "transactiontype",
            "quantity",
            "actualcost",
            "modifieddate",
        )
        moves = (
            [(when, "S", order, line, pid, qty, price) for order, line, pid, qty, price, when in self.sales_lines]
            + [(when, "P", order, line, pid, qty, price) for order, line, pid, qty, price, when in self.purchase_lines]
            + [
                (when, "W", order, 0, pid, qty, self.products[pid]["cost"])
                for order, pid, qty, when in self.work_order_rows
            ]
        )
        moves.sort(key=lambda m: (m[0], m[1], m[2], m[3]))
        cutoff = self.day(180)
        old = [m for m in moves if m[0] < cutoff]
        old = sorted(self.rng.sample(old, min(len(old), 1500)), key=lambda m: (m[0], m[1], m[2], m[3]))
        for i, (when, kind, order, line, pid, qty, price) in enumerate(old, start=1):
            archive.add(i, pid, order, line, when, kind, qty, price, when)
        for i, (when, kind, order, line, pid, qty, price) in enumerate(
            (m for m in moves if m[0] >= cutoff), start=100001
        ):
            recent.add(i, pid, order, line, when, kind, qty, price, self.modified(when, 0))


def generate_rows(*, seed: int = SEED, now: datetime | None = None) -> dict[str, Table]:
    """The rows of every AdventureWorks business table, in insertion order (parents first).

    ``now`` (naive UTC; default: the current time) anchors every date: orders run up to
    ``now``, the newest pay change is ``FRESH_HOURS`` old. Same ``seed`` and ``now``, same rows.
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    return _Generator(seed=seed, now=now).generate()


def rows_loaded(conninfo: str) -> bool:
    """True when the warehouse's business tables already hold rows (generated or real)."""
    import psycopg

    with psycopg.connect(conninfo) as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM person.businessentity)").fetchone()[0]


def _xml_unsupported(conn) -> set[tuple[str, str]]:
    """``{("schema.table", column)}`` of the nullable ``xml`` columns to leave empty when the server was
    built without libxml (the embedded PostgreSQL of ``make demo``: "unsupported XML feature"); empty
    when the server parses XML."""
    import psycopg

    try:
        with conn.transaction():
            conn.execute("SELECT '<a/>'::xml")
        return set()
    except psycopg.errors.FeatureNotSupported:
        return {
            (f"{schema}.{table}", column)
            for schema, table, column in conn.execute(
                "SELECT table_schema, table_name, column_name FROM information_schema.columns "
                "WHERE data_type = 'xml' AND is_nullable = 'YES'"
            ).fetchall()
        }


def load_rows(conninfo: str, *, seed: int = SEED, now: datetime | None = None) -> dict[str, int]:
    """COPY the generated rows into the (empty) AdventureWorks tables at ``conninfo``, move each
    serial column's sequence past its rows, refresh the materialized views and ANALYZE, all in
    one transaction. Returns ``{"schema.table": rows}``. Raises ``psycopg.Error`` (nothing is
    kept) when a table is missing or already has conflicting rows."""
    import psycopg
    from psycopg import sql

    tables = generate_rows(seed=seed, now=now)
    with psycopg.connect(conninfo) as conn, conn.transaction():
        no_xml = _xml_unsupported(conn)
        for name, table in tables.items():
            target = sql.Identifier(*name.split("."))
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in table.columns)
            blank = [i for i, c in enumerate(table.columns) if (name, c) in no_xml]
            with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, columns)) as copy:
                for row in table.rows:
                    if blank:
                        row = tuple(None if i in blank else v for i, v in enumerate(row))
                    copy.write_row(row)
        serials = conn.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = ANY(%s) AND column_default LIKE 'nextval(%%'",
            [sorted({name.split(".")[0] for name in tables})],
        ).fetchall()
        for schema, table_name, column in serials:
            conn.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), coalesce(max({}), 0) + 1, false) FROM {}"
                ).format(sql.Identifier(column), sql.Identifier(schema, table_name)),
                [sql.Identifier(schema, table_name).as_string(conn), column],
            )
        for view in MATERIALIZED_VIEWS:
            conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(sql.Identifier(*view.split("."))))
        for name in tables:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(*name.split("."))))
    return {name: len(table.rows) for name, table in tables.items()}
